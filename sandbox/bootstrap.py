"""`make run` in sandbox mode: once the server answers, connect the demo user to the sandbox's
demo business through the product's own services (so over HTTP, like a real Meta connection),
discover its assets, sync its templates, subscribe the webhooks, connect the demo page and IG
account, pull their last 90 days of insights, and say what to open."""

import logging
import secrets
import time

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token as ApiToken

from accounts.services import account_connect_oauth, account_discover
from analytics.services import insights_pull
from facebook.models import FacebookPage
from facebook.services import page_connect
from instagram.models import InstagramAccount
from instagram.services import ig_account_connect
from orgs.context import default_membership
from sandbox import demo, insights
from webhooks.services import OBJECT_FIELDS, webhook_configure
from whatsapp.message_templates.services import templates_sync_wabas

logger = logging.getLogger(__name__)
DEMO_CODE = "sandbox-demo-login"


def wait_until_up(base_url: str, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.2)
    return False


def connect_demo_user(*, username: str = "demo") -> dict:
    """Connect `username`'s default organization (the demo user's "Demo business", see
    ensure_demo_user) to the demo business and bring its WhatsApp, page and IG sides up to date.
    Re-runnable: connecting again updates the same account."""
    user = get_user_model().objects.get(username=username)
    org = default_membership(user=user).organization
    account, _ = account_connect_oauth(org=org, user=user, code=DEMO_CODE, redirect_uri=None)
    account_discover(account=account)
    wabas = list(account.whatsapp_accounts.all())
    synced = templates_sync_wabas(wabas=wabas)
    # Facebook and Instagram: the page and the IG account connected (which subscribes the page
    # to our webhooks) before the app subscribes each object, and at the end the whole history
    # of their insights, so the curves are not empty.
    for page in FacebookPage.objects.filter(account=account, page_id=demo.PAGE_ID):
        page_connect(page=page)
    for ig in InstagramAccount.objects.filter(account=account, ig_account_id=demo.IG_ID):
        ig_account_connect(ig=ig)
    # Every field of every object (WhatsApp, page, Instagram): the app subscribes each object's
    # callback, as a real app handling all three platforms would.
    fields = dict.fromkeys(sorted(set().union(*OBJECT_FIELDS.values())), True)
    config, _ = webhook_configure(account=account, verify_token=secrets.token_urlsafe(16), fields=fields)
    pulled = insights_pull(account=account, days=insights.HISTORY_DAYS)
    return {
        "account": account,
        "numbers": [n.phone_number_id for w in wabas for n in w.phone_numbers.all()],
        "templates": synced.as_dict(),
        "webhook": config.status,
        "insights": pulled["stored"],
    }


def run(*, base_url: str, out) -> None:
    """For the devserver's background thread: never raises (the server keeps running)."""
    if not wait_until_up(base_url):
        out.write(f"Sandbox set-up skipped: {base_url}/healthz did not answer.")
        return
    try:
        result = connect_demo_user()
    except Exception:
        logger.exception("Sandbox set-up failed")
        out.write("Sandbox set-up failed (see the log above); the server keeps running.")
        return
    token = ApiToken.objects.get(user=result["account"].connected_by).key
    agent = ApiToken.objects.filter(user__username="agent").first()
    out.write(
        "\n"
        "============================ META SANDBOX ============================\n"
        f"Meta is simulated by this server at {settings.META_GRAPH_URL}\n"
        f"(app id {settings.META_APP_ID}; responses carry X-Botopia-Sandbox: true).\n"
        f"The demo user is connected to {demo.BUSINESS_NAME}: WABA {demo.WABA_ID}, numbers "
        f"{', '.join(result['numbers'])}; templates {result['templates']}; webhooks {result['webhook']}.\n"
        f"Page {demo.PAGE_ID} and Instagram @{demo.IG_USERNAME} connected; "
        f"{result['insights']} insight values for the last {insights.HISTORY_DAYS} days.\n"
        f"  Admin:    {base_url}/admin/  (demo / demo, owner of {result['account'].organization})\n"
        f"  Agent:    agent / agent (token {agent.key if agent else '-'}): try a role that may not\n"
        "            create templates or broadcasts (403 PERMISSION_DENIED)\n"
        f"  API docs: {base_url}/api/docs/\n"
        f'  Try:      curl -H "Authorization: Token {token}" {base_url}/api/meta/whatsapp/templates\n'
        "  Walkthrough: README.md, 'Try it in 2 minutes'.\n"
        "=======================================================================\n"
    )
