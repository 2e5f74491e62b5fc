"""The benchmark's Python peer: order intake's `order.created` in Python, run by AWS's own
runtime interface client (awslambdaric) against the same Runtime API and local AWS as the Rust
function, so that the two are measured side by side.

It does the same AWS work as the Rust handler for an accepted order: one TransactWriteItems
with the event's completed idempotency claim, the order, one conditional reservation per line
and the outbox entry. Around it, the same checks in spirit: the signature in constant time,
the envelope, the money as integer minor units. It is a peer for measurement, not a second
implementation: backorders, the other event types and most validation are left out.
"""

import base64
import hashlib
import hmac
import json
import os
import time
from decimal import Decimal

import boto3

# Built once per cold start, as the Rust function builds its clients in main.
DYNAMODB = boto3.client("dynamodb")
# Read from Secrets Manager once per cold start, as the Rust function reads it.
SECRET = (
    boto3.client("secretsmanager")
    .get_secret_value(SecretId=os.environ["WEBHOOK_SECRET_ID"])["SecretString"]
    .encode()
)
IDEMPOTENCY_TABLE = os.environ["IDEMPOTENCY_TABLE"]
ORDERS_TABLE = os.environ["ORDERS_TABLE"]
INVENTORY_TABLE = os.environ["INVENTORY_TABLE"]
OUTBOX_TABLE = os.environ["OUTBOX_TABLE"]
WEEK = 7 * 24 * 3600


def answer(status, body):
    return {"statusCode": status, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}


def signature_ok(header, body, now):
    parts = dict(part.split("=", 1) for part in (header or "").split(",") if "=" in part)
    try:
        sent_at = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs(now - sent_at) > 300:
        return False
    expected = hmac.new(SECRET, f"{sent_at}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))


def minor_units(text):
    return int(Decimal(text) * 100)


def handler(event, context):
    body = event.get("body") or ""
    raw = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
    now = int(time.time())
    if not signature_ok(event.get("headers", {}).get("marketplace-signature"), raw, now):
        return answer(401, {"error": {"code": "signature_invalid"}})
    envelope = json.loads(raw)
    data = envelope["data"]
    fingerprint = hashlib.sha256(json.dumps(envelope, sort_keys=True).encode()).hexdigest()
    order_id, seller_id = data["order_id"], data["seller_id"]
    receipt = {"order_id": order_id, "order_status": "accepted"}
    lines = [
        {"line_id": line["line_id"], "sku": line["sku"], "quantity": int(line["quantity"]),
         "unit_price_minor": minor_units(line["unit_price"])}
        for line in data["lines"]
    ]
    order = {
        "order_id": {"S": order_id},
        "seller_id": {"S": seller_id},
        "status": {"S": "accepted"},
        "status_placed": {"S": f"accepted#{envelope['created_at']}"},
        "ship_due_day": {"S": data["ship_by"][:10]},
        "ship_by": {"S": data["ship_by"]},
        "buyer": {"S": json.dumps(data["buyer"])},
        "currency": {"S": data["currency"]},
        "total_minor": {"N": str(minor_units(data["total"]))},
        "lines": {"S": json.dumps(lines)},
        "events": {"L": [{"S": envelope["id"]}]},
    }
    follow_ups = [
        {"kind": "stock_change", "dedupe_key": f"order-intake#{order_id}#accepted#stock", "seller_id": seller_id,
         "skus": [line["sku"] for line in lines], "reason": "reserved", "order_id": order_id},
        {"kind": "email", "dedupe_key": f"order-intake#{order_id}#accepted#email", "template": "order_confirmation",
         "recipient": {"role": "buyer", **data["buyer"]}, "locale": data["buyer"].get("locale", "en"),
         "data": {"order_id": order_id, "lines": lines}},
    ]
    items = [
        {"Put": {
            "TableName": IDEMPOTENCY_TABLE,
            "Item": {"pk": {"S": f"order-intake-peer#webhook#{envelope['id']}"}, "fingerprint": {"S": fingerprint},
                     "state": {"S": "completed"}, "outcome": {"S": json.dumps(receipt)},
                     "expires_at": {"N": str(now + WEEK)}},
            "ConditionExpression": "attribute_not_exists(pk) OR expires_at < :now",
            "ExpressionAttributeValues": {":now": {"N": str(now)}},
        }},
        {"Put": {"TableName": ORDERS_TABLE, "Item": order, "ConditionExpression": "attribute_not_exists(order_id)"}},
    ]
    for line in lines:
        items.append({"Update": {
            "TableName": INVENTORY_TABLE,
            "Key": {"sku_key": {"S": f"{seller_id}#{line['sku']}"}},
            "UpdateExpression": "SET available = available - :q, reserved = reserved + :q",
            "ConditionExpression": "available >= :q",
            "ExpressionAttributeValues": {":q": {"N": str(line["quantity"])}},
        }})
    items.append({"Put": {
        "TableName": OUTBOX_TABLE,
        "Item": {"key": {"S": f"order-intake#{order_id}#accepted"}, "follow_ups": {"S": json.dumps(follow_ups)},
                 "expires_at": {"N": str(now + WEEK)}},
    }})
    DYNAMODB.transact_write_items(TransactItems=items)
    return answer(202, {"status": "accepted", **receipt})
