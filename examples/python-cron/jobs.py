"""Scheduled jobs; `nimbus dev` fires them on their rate() and cron() rules."""
import json


def report(event, context):
    # A scheduled event from EventBridge: {"detail-type": "Scheduled Event", "time": ...}
    print(f"report for {event['time']} ({context.function_name})")
    return {"ok": True}


def heartbeat(event, context):
    # With `input`, the function receives the input instead of the scheduled event.
    print("heartbeat", json.dumps(event))
    return event
