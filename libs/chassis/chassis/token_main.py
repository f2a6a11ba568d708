"""`python -m chassis.token_main ROLE UNIT [SUB]`: print a development bearer token.

RS256 with the portal's signing key where there is one (PORTAL_SIGNING_KEY_FILE, or the key the
portal makes in development at VAR_DIR/portal/signing-key.pem); otherwise HS256 with JWT_SECRET,
which only services in PLATFORM_MODE=development accept.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from chassis.auth import ROLES, issue_dev_token, sign_token, token_claims
from chassis.config import setting


def signing_key_file() -> Path | None:
    """PORTAL_SIGNING_KEY_FILE when set (it must exist), else the portal's development key if present."""
    configured = os.environ.get("PORTAL_SIGNING_KEY_FILE", "")
    if configured:
        if not Path(configured).is_file():
            raise SystemExit(f"PORTAL_SIGNING_KEY_FILE={configured} is not a file")
        return Path(configured)
    default = Path(setting("VAR_DIR")) / "portal" / "signing-key.pem"
    return default if default.is_file() else None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("role", choices=ROLES)
    parser.add_argument("unit", help="unit code, e.g. HN or HN-CG-C001")
    parser.add_argument("sub", nargs="?", default="", help="member id (default: dev-<role>)")
    args = parser.parse_args(argv)
    sub = args.sub or f"dev-{args.role}"
    key_file = signing_key_file()
    if key_file is not None:
        signed = f"RS256 with {key_file}"
        token = sign_token(token_claims(sub, args.role, args.unit), key_file.read_bytes())
    else:
        signed = "HS256 with JWT_SECRET, accepted where PLATFORM_MODE=development"
        token = issue_dev_token(sub, args.role, args.unit)
    print(f"# role={args.role} unit={args.unit} sub={sub} ({signed}); use as: Authorization: Bearer <token>")
    print(token)


if __name__ == "__main__":
    main()
