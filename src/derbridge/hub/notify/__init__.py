"""Notifications (F14): the hub tells people what went wrong and what got done, by e-mail and webhook.

The vendor's handler stops and e-mails; here nothing stops and nothing is lost or repeated in a storm:
- events.py   what can happen (dead letter, mapping failure, refusal at intake, refusal by the target,
              completion, no file found) and who hears of it (technical or business recipients);
- capture.py  records an event in the same transaction as the change it tells of (the message log calls it);
- config.py   recipients, per-flow triggers, the SMTP server and the webhook secret, from Settings;
- digest.py   events of one flow and kind within a window become one digest: how many, which keys;
- store.py    digests become one notification per recipient, kept until sent (or given up);
- channels.py e-mail over SMTP, webhooks signed with HMAC-SHA256;
- worker.py   the thread that gathers digests and sends what is due, with backoff;
- service.py  its start and stop with the hub; api.py the operator's view.

This package's __init__ imports nothing: the message log imports capture.py, and the rest imports the flows.
"""
