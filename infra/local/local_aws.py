"""The back office's local AWS: moto server on loopback, with DynamoDB made atomic.

moto handles requests on many threads, and its DynamoDB backend is not atomic under
concurrent requests: 500 racing conditional decrements of a stock of 20 once let 21 or 22
through. One lock around DynamoDB's dispatch makes every DynamoDB request atomic, as the real
service is per item, while SQS long polls and SES stay concurrent.

Python switches threads every 5 ms by default, which hides most races: here it switches every
10 µs, so a race the real services would allow shows up locally instead of in production
(without the lock, the stock race test then oversells in nearly every run).

A cancelled TransactWriteItems rolls back only what it touched and leaves no stream record.
moto applies a transaction's writes one by one, appending each to the table's stream, and on
cancellation swaps in a copy of each table taken before (a deep copy on every transaction);
the copy comes with a new stream shard. Unpatched, a cancelled order transaction put its outbox
entry on the stream (a confirmation email for an order that was backordered), every open shard
iterator went on reading the discarded shard, and each transaction took longer as tables grew.

A TransactWriteItems with a ClientRequestToken is idempotent, as in DynamoDB: the same token
with the same request within ten minutes answers success again without applying anything (so
an SDK retry of a transaction whose answer was lost succeeds instead of failing on its own
writes), and with another request it is refused with IdempotentParameterMismatchException.
moto ignores the token.

SNS counts as SNS does: a message and a PublishBatch are each at most 256 KiB in UTF-8 bytes,
message attributes included. moto checks only one message's length in characters and never a
batch's total, so a follow-up that SNS would refuse went through locally.

SES publishes `Send` events, as a configuration set's SNS event destination does: moto
implements neither CreateConfigurationSetEventDestination (SES v2) nor any event publishing, so
here the destinations are kept and every email sent with a configuration set whose destination
matches SEND is published to its topic as SES's event (`mail.messageId`, `mail.tags` with the
email's own tags). The event is published once the send is applied, before its answer, so an
answer lost on the way back (the fault proxy's reset) still leaves the event, as in SES.

CORS is off: no web page may call it.

It also serves `GET /_local/outbox`: every email SES accepted, as JSON, for `cargo xtask outbox`
and the tests (moto keeps them only in memory); `?fields=destinations` gives ids and
destinations alone.

Usage: python local_aws.py [--port N] [--exit-with-parent]
Prints `READY http://127.0.0.1:<port>` once it accepts requests.
"""

import argparse
import json
import logging
import os
import sys
import threading

# moto answers CORS preflights for any origin by default, so any web page open in a browser on
# this machine could read and write the local tables and queues. Read before moto is imported.
os.environ["MOTO_DISABLE_GLOBAL_CORS"] = "true"

from moto.moto_server.threaded_moto_server import MotoRequestHandler
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

THREAD_SWITCH_INTERVAL_SECS = 10e-6
DYNAMODB_TARGETS = ("DynamoDB_20120810.", "DynamoDBStreams_20120810.")


def transactions_that_roll_back_what_they_touched():
    """TransactWriteItems that undoes only its own items when it is cancelled.

    moto deep-copies every table a transaction names before applying it, and swaps the copies
    back in when it is cancelled: each transaction costs time in proportion to the tables'
    sizes (most of a bench event's time, and the 640-order race test's minutes), and the copy
    comes with a new stream shard while the cancelled writes stay on the old one. Here the
    tables are not copied; the items the transaction names are saved, put back on
    cancellation, and the stream records it wrote are removed.
    """
    import copy

    import moto.dynamodb.models as models
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    apply_transaction = DynamoDBBackend.transact_write_items

    class TablesUncopied:
        """Stands in for the `copy` module while a transaction runs (under the DynamoDB lock)."""

        @staticmethod
        def deepcopy(value, *args):
            return value if isinstance(value, Table) else copy.deepcopy(value, *args)

    def saved_items(backend, transact_items):
        saved = []
        for entry in transact_items:
            operation = next(iter(entry.values()), {})
            table = backend.tables.get(operation.get("TableName"))
            if table is None:
                continue
            if table.has_range_key:
                return None
            key = operation.get("Key") or operation.get("Item") or {}
            if table.hash_key_attr not in key:
                continue
            hash_value = DynamoType(key[table.hash_key_attr])
            saved.append((table, hash_value, copy.deepcopy(table.items.get(hash_value))))
        return saved

    def transact_write_items(self, transact_items):
        saved = saved_items(self, transact_items)
        if saved is None:
            return apply_transaction(self, transact_items)
        streams = {id(table.stream_shard): (table.stream_shard, len(table.stream_shard.items))
                   for table, _, _ in saved if table.stream_shard is not None}
        models.copy = TablesUncopied
        try:
            return apply_transaction(self, transact_items)
        except Exception:
            for table, hash_value, item in reversed(saved):
                if item is None:
                    table.items.pop(hash_value, None)
                else:
                    table.items[hash_value] = item
            for shard, length in streams.values():
                del shard.items[length:]
            raise
        finally:
            models.copy = copy

    DynamoDBBackend.transact_write_items = transact_write_items


def transactions_idempotent_by_request_token():
    """TransactWriteItems answered once per ClientRequestToken, as DynamoDB does for ten minutes.

    Runs under the DynamoDB lock, so a token is checked and recorded atomically with its
    transaction.
    """
    import hashlib
    import time

    from moto.dynamodb.exceptions import DynamodbException, ERROR_TYPE_PREFIX
    from moto.dynamodb.responses import DynamoHandler

    apply_request = DynamoHandler.transact_write_items
    window_secs = 600
    seen = {}  # token -> (request hash, when, answer)

    class IdempotentParameterMismatch(DynamodbException):
        def __init__(self):
            super().__init__(
                ERROR_TYPE_PREFIX + "IdempotentParameterMismatchException",
                message="The request uses the same client token as a previous, but non-identical request.",
            )

    def transact_write_items(self):
        token = self.body.get("ClientRequestToken")
        if not token:
            return apply_request(self)
        request = dict(self.body)
        request.pop("ClientRequestToken", None)
        digest = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()
        now = time.monotonic()
        for old in [key for key, (_, when, _) in seen.items() if now - when > window_secs]:
            del seen[old]
        if token in seen:
            earlier, _, answer = seen[token]
            if earlier != digest:
                raise IdempotentParameterMismatch()
            return answer
        answer = apply_request(self)
        seen[token] = (digest, now, answer)
        return answer

    DynamoHandler.transact_write_items = transact_write_items


def sns_limits_in_bytes():
    """Publish and PublishBatch refused over 256 KiB, counted in bytes as SNS counts them.

    SNS answers a message too long with InvalidParameter, and a batch whose messages together
    are too long with BatchRequestTooLong (the whole request refused, nothing published).
    """
    from moto.sns.exceptions import InvalidParameterValue, SNSException
    from moto.sns.models import SNSBackend

    limit_bytes = 262144

    class BatchRequestTooLong(SNSException):
        code = "BatchRequestTooLong"
        message = "The length of all the batch messages put together is more than the limit."

    def size_in_bytes(message, attributes):
        size = len(message.encode("utf-8"))
        for name, attribute in (attributes or {}).items():
            size += len(name.encode("utf-8"))
            size += sum(len(str(value).encode("utf-8")) for value in attribute.values())
        return size

    publish = SNSBackend.publish
    publish_batch = SNSBackend.publish_batch

    def publish_in_bytes(self, message, *args, **kwargs):
        if not kwargs.get("phone_number") and size_in_bytes(message, kwargs.get("message_attributes")) > limit_bytes:
            raise InvalidParameterValue("Invalid parameter: Message too long")
        return publish(self, message, *args, **kwargs)

    def publish_batch_in_bytes(self, topic_arn, publish_batch_request_entries):
        total = sum(
            size_in_bytes(entry.get("Message", ""), entry.get("MessageAttributes"))
            for entry in publish_batch_request_entries
        )
        if total > limit_bytes:
            raise BatchRequestTooLong()
        return publish_batch(self, topic_arn, publish_batch_request_entries)

    SNSBackend.publish = publish_in_bytes
    SNSBackend.publish_batch = publish_batch_in_bytes


def ses_publishes_send_events():
    """SESv2 CreateConfigurationSetEventDestination kept, and SendEmail publishing Send events."""
    import datetime
    from urllib.parse import unquote

    from moto.sesv2 import urls as sesv2_urls
    from moto.sesv2.responses import SESV2Response
    from moto.sns.models import sns_backends

    destinations = {}  # (account, region, configuration set) -> [(event types, topic ARN)]
    lock = threading.Lock()

    def create_configuration_set_event_destination(self):
        params = json.loads(self.body or "{}")
        set_name = unquote(self.path.split("/configuration-sets/", 1)[1].split("/", 1)[0])
        destination = params.get("EventDestination", {})
        topic = (destination.get("SnsDestination") or {}).get("TopicArn")
        if destination.get("Enabled") and topic:
            types = {kind.upper() for kind in destination.get("MatchingEventTypes", [])}
            with lock:
                destinations.setdefault((self.current_account, self.region, set_name), []).append((types, topic))
        return json.dumps({})

    send_email = SESV2Response.send_email

    def send_email_publishing_events(self):
        answer = send_email(self)
        params = json.loads(self.body or "{}")
        set_name = params.get("ConfigurationSetName")
        with lock:
            matching = list(destinations.get((self.current_account, self.region, set_name), []))
        tags = {tag["Name"]: [tag["Value"]] for tag in params.get("EmailTags", [])}
        tags["ses:configuration-set"] = [set_name]
        event = {
            "eventType": "Send",
            "mail": {
                "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                "source": params.get("FromEmailAddress"),
                "messageId": json.loads(answer)["MessageId"],
                "destination": (params.get("Destination") or {}).get("ToAddresses", []),
                "tags": tags,
            },
            "send": {},
        }
        for types, topic in matching:
            if "SEND" in types:
                region = topic.split(":")[3]
                sns_backends[self.current_account][region].publish(json.dumps(event), arn=topic)
        return answer

    SESV2Response.create_configuration_set_event_destination = create_configuration_set_event_destination
    SESV2Response.send_email = send_email_publishing_events
    # Routed before the SES v2 app is built (on its first request): moto has no route for it.
    sesv2_urls.url_paths["{0}/v2/email/configuration-sets/(?P<ConfigurationSetName>[^/]+)/event-destinations$"] = (
        SESV2Response.dispatch
    )


class LocalAws:
    def __init__(self):
        self.moto = DomainDispatcherApplication(create_backend_app)
        self.dynamodb_lock = threading.Lock()

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == "/_local/outbox":
            return self.outbox(environ, start_response)
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith(DYNAMODB_TARGETS):
            with self.dynamodb_lock:
                # Drain the response inside the lock: moto may build it lazily.
                return list(self.moto(environ, start_response))
        return self.moto(environ, start_response)

    def outbox(self, environ, start_response):
        from moto.ses.models import ses_backends

        # `?fields=destinations`: ids and destinations alone, to count tens of thousands of sends.
        only_destinations = environ.get("QUERY_STRING") == "fields=destinations"
        emails = []
        for account_id, regions in ses_backends.items():
            for region, backend in regions.items():
                for message in backend.sent_messages:
                    if only_destinations:
                        emails.append({"id": message.id, "destinations": message.destinations})
                        continue
                    emails.append(
                        {
                            "id": message.id,
                            "region": region,
                            "source": message.source,
                            "destinations": message.destinations,
                            "subject": getattr(message, "subject", None),
                            "body": getattr(message, "body", None),
                            "raw_data": getattr(message, "raw_data", None),
                        }
                    )
        body = json.dumps(emails, default=str).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


def exit_when_parent_closes_stdin():
    """The parent holds our stdin open; when it exits, however it exits, so do we."""
    sys.stdin.read()
    os._exit(0)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--exit-with-parent", action="store_true")
    args = parser.parse_args()
    # LOCAL_AWS_SWITCH_INTERVAL (seconds) trades that for throughput: `cargo xtask load` notes
    # what the default 5 ms gives.
    sys.setswitchinterval(float(os.environ.get("LOCAL_AWS_SWITCH_INTERVAL", THREAD_SWITCH_INTERVAL_SECS)))
    transactions_that_roll_back_what_they_touched()
    transactions_idempotent_by_request_token()
    sns_limits_in_bytes()
    ses_publishes_send_events()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", args.port, LocalAws(), threaded=True, request_handler=MotoRequestHandler)
    if args.exit_with_parent:
        threading.Thread(target=exit_when_parent_closes_stdin, daemon=True).start()
    print(f"READY http://127.0.0.1:{server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
