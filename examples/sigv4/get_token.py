"""Get a tenant token from token-vending-machine with a SigV4-signed request (botocore's signer).

    python3 get_token.py https://abc123.execute-api.ap-southeast-2.amazonaws.com/prod/ acme [minTtl]

Credentials come from botocore's default chain (environment, AWS_PROFILE, instance or task role); the
region from AWS_REGION (else AWS_DEFAULT_REGION or the profile). Needs only botocore (pip install botocore, or boto3).
"""
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest


def get_token(endpoint: str, tenant: str, min_ttl: int = 300) -> dict:
    session = botocore.session.get_session()
    credentials = session.get_credentials()
    region = os.environ.get("AWS_REGION") or session.get_config_variable("region")  # or AWS_DEFAULT_REGION
    if credentials is None or region is None:
        raise SystemExit("Set AWS credentials (AWS_PROFILE or access keys) and AWS_REGION.")
    url = urllib.parse.urljoin(endpoint.rstrip("/") + "/", f"v1/tenants/{urllib.parse.quote(tenant)}/token")
    url += "?" + urllib.parse.urlencode({"minTtl": min_ttl})
    request = AWSRequest(method="GET", url=url, headers={"accept": "application/json"})
    SigV4Auth(credentials.get_frozen_credentials(), "execute-api", region).add_auth(request)
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=dict(request.headers)), timeout=30) as answer:
            return json.load(answer)
    except urllib.error.HTTPError as error:
        body = json.load(error)  # {"error": {"code", "message"}, "requestId"}
        raise SystemExit(f"{error.code} {body['error']['code']}: {body['error']['message']}")


if __name__ == "__main__":
    token = get_token(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 300)
    print(json.dumps(token))
