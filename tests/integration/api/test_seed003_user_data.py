"""Seed 003 deploys its Flask app through user data: update, install, write the app, start it
with gunicorn. The same script shape (its schema set-up made safe for two workers), in a launch
template of a stack with a database, brings the app up in the lab: it reaches PostgreSQL through
the DB_* variables and answers from its instance."""

from __future__ import annotations

import json
import textwrap
import urllib.request

import pytest
from api_lab import LabHandle, free_port, stack_doc, start_lab, stop_and_check, wait_for

pytestmark = [pytest.mark.netns_here, pytest.mark.timeout(180)]

USER_DATA = textwrap.dedent(
    """\
    #!/bin/bash
    set -e
    yum update -y
    yum install -y python3-pip
    pip3 install flask gunicorn pg8000
    mkdir -p "$HOME/app"
    cat > "$HOME/app/app.py" <<'EOF'
    import os

    import pg8000
    from flask import Flask, jsonify

    app = Flask(__name__)
    INSTANCE_ID = os.environ.get("INSTANCE_ID", "unknown")


    def connect():
        return pg8000.connect(
            host=os.environ["DB_ENDPOINT"],
            port=int(os.environ["DB_PORT"]),
            database=os.environ["DB_NAME"],
            user=os.environ["DB_USERNAME"],
            password=os.environ["DB_PASSWORD"],
        )


    def init_db():
        conn = connect()
        conn.autocommit = True
        cur = conn.cursor()
        # Both gunicorn workers import the app at once, and two concurrent CREATE TABLE IF NOT
        # EXISTS can fail in PostgreSQL (the seed's app has this race on RDS too): take turns.
        cur.execute("SELECT pg_advisory_lock(1)")
        cur.execute("CREATE TABLE IF NOT EXISTS products (id INTEGER PRIMARY KEY, name TEXT, stock INTEGER)")
        cur.execute("INSERT INTO products VALUES (1, 'Wireless Keyboard', 100) ON CONFLICT (id) DO NOTHING")
        conn.close()


    init_db()


    @app.route("/health")
    def health():
        conn = connect()
        conn.cursor().execute("SELECT 1")
        conn.close()
        return jsonify({"status": "healthy", "instance_id": INSTANCE_ID})


    @app.route("/products")
    def products():
        conn = connect()
        cur = conn.cursor()
        cur.execute("SELECT id, name, stock FROM products ORDER BY id")
        rows = [{"id": r[0], "name": r[1], "stock": r[2]} for r in cur.fetchall()]
        conn.close()
        return jsonify({"products": rows, "served_by": INSTANCE_ID})
    EOF
    cd "$HOME/app"
    nohup gunicorn --workers 2 --bind 0.0.0.0:80 app:app > "$HOME/app.log" 2>&1 &
    """
)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> LabHandle:
    doc = stack_doc(
        "seed003ud",
        {
            "database": {
                "cluster": "shop-db",
                "database": "chaosshop",
                "username": "chaosadmin",
                "password": "chaos-lab-secret",
                "port": free_port(),
                "instances": [{"id": "shop-db-1", "az": "us-east-1a"}],
            },
            "target_groups": [{"name": "shop-tg", "port": 80, "health_check": {"path": "/health"}}],
            "load_balancers": [{"name": "shop-alb", "listeners": [{"port": 0, "target_group": "shop-tg"}]}],
            "launch_templates": [{"name": "shop-lt", "image": "ami-0c02fb55956c7d316", "user_data": USER_DATA}],
            "auto_scaling_groups": [
                {
                    "name": "shop-asg",
                    "launch_template": {"name": "shop-lt", "version": "$Latest"},
                    "database": "shop-db",
                    "min": 1,
                    "max": 1,
                    "azs": ["us-east-1a"],
                    "target_groups": ["shop-tg"],
                    "health_check_type": "ELB",
                }
            ],
        },
    )
    handle = start_lab(tmp_path_factory.mktemp("seed003ud"), doc)  # ready = every target healthy
    yield handle
    stop_and_check(handle)


def test_the_seed_shaped_user_data_brings_the_app_up_on_the_database(lab: LabHandle) -> None:
    ec2, elbv2 = lab.client("ec2"), lab.client("elbv2")
    (tg_arn,) = [tg["TargetGroupArn"] for tg in elbv2.describe_target_groups(Names=["shop-tg"])["TargetGroups"]]

    def healthy_target() -> str | None:
        """The group's serving member: a replacement is `running` before its user data is done
        (as on EC2), so "any running instance" may not be serving yet on a loaded box."""
        health = elbv2.describe_target_health(TargetGroupArn=tg_arn)["TargetHealthDescriptions"]
        return next((d["Target"]["Id"] for d in health if d["TargetHealth"]["State"] == "healthy"), None)

    instance_id = wait_for(healthy_target, 60, "a healthy member of shop-tg")
    (inst,) = [i for r in ec2.describe_instances(InstanceIds=[instance_id])["Reservations"] for i in r["Instances"]]
    with urllib.request.urlopen(f"http://{inst['PrivateIpAddress']}:80/products", timeout=5) as resp:
        body = json.loads(resp.read())
    assert body == {"products": [{"id": 1, "name": "Wireless Keyboard", "stock": 100}], "served_by": inst["InstanceId"]}
    console = ec2.get_console_output(InstanceId=inst["InstanceId"])["Output"]
    assert "skipped 'yum update -y'" in console
    assert "skipped pip install pg8000: already there" in console
