#!/usr/bin/env python3
"""Regenerates methods.json from Slack's published OpenAPI and AsyncAPI specs.

Usage: extract.py WEB_API_SPEC EVENTS_SPEC > methods.json
where WEB_API_SPEC is web-api/slack_web_openapi_v2.json and EVENTS_SPEC is
events-api/slack_events_api_async_v1.json of github.com/slackapi/slack-api-specs (see README.md).
Only facts are kept: per method its arguments (required or optional) and the scopes the spec
lists; per event the scopes it requires.
"""
import json
import sys


def methods(spec):
    out = {}
    for path, verbs in sorted(spec["paths"].items()):
        for op in verbs.values():
            required, optional = [], []
            for p in op.get("parameters", []):
                if p["name"] == "token":
                    continue
                (required if p.get("required") else optional).append(p["name"])
            scopes = []
            for sec in op.get("security", []):
                scopes += sec.get("slackAuth", [])
            out[path.lstrip("/")] = {
                "required": sorted(required),
                "optional": sorted(optional),
                "scopes": [s for s in scopes if s != "none"],
            }
    return out


def events(spec):
    out = {}
    for topic, body in sorted(spec["topics"].items()):
        scopes = body.get("subscribe", {}).get("x-scopes-required", [])
        # Topics are spelled with dots (member.joined.channel); event types with underscores,
        # except the message.* subscriptions, which keep their dot.
        name = topic if topic.startswith("message.") else topic.replace(".", "_")
        out[name] = scopes
    return out


def main():
    web = json.load(open(sys.argv[1]))
    ev = json.load(open(sys.argv[2]))
    doc = {
        "source": {
            "repository": "https://github.com/slackapi/slack-api-specs",
            "files": [
                "web-api/slack_web_openapi_v2.json",
                "events-api/slack_events_api_async_v1.json",
            ],
            "commit": "bc08db49625630e3585bf2f1322128ea04f2a7f3",
            "web_api_version": web["info"]["version"],
            "license": "MIT (Copyright (c) 2017 SlackAPI)",
        },
        "methods": methods(web),
        "events": events(ev),
    }
    json.dump(doc, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
