"""A user's real AWS account, as `import aws` and `run --aws` reach it: who the credentials are,
with the errors said in the user's terms (no credentials, no endpoint, refused)."""

from __future__ import annotations

from typing import Any

import botocore.exceptions

from chaoslab.errors import ChaoslabError


def caller_identity(sts: Any) -> dict[str, str]:
    """sts:GetCallerIdentity through the given client: the account, the caller's ARN and user id."""
    try:
        got = sts.get_caller_identity()
    except botocore.exceptions.NoCredentialsError:
        raise ChaoslabError(
            "no AWS credentials", hint="--profile NAME, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        ) from None
    except botocore.exceptions.EndpointConnectionError as exc:
        raise ChaoslabError(f"cannot reach {exc.kwargs.get('endpoint_url')}", hint="check --endpoint-url") from None
    except botocore.exceptions.ClientError as exc:
        raise ChaoslabError(f"sts:GetCallerIdentity refused: {exc}", hint="check the credentials") from None
    return {"account": str(got["Account"]), "arn": str(got["Arn"]), "user_id": str(got.get("UserId", ""))}
