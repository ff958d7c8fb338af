"""Reads every message of a Maildir (as aiosmtpd's Mailbox handler stores
them) with Python's `email` package and prints them as JSON: the decoded
subject, recipients, Message-ID and the text/plain and text/html parts.
The tests parse mail as a mail client would, not by searching bytes."""

import json
import mailbox
import sys
from email import policy
from email.parser import BytesParser


def main(path):
    out = []
    box = mailbox.Maildir(path, factory=None, create=False)
    for key in sorted(box.keys()):
        with box.get_file(key) as f:
            msg = BytesParser(policy=policy.default).parse(f)
        text = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
        out.append(
            {
                "subject": str(msg["subject"]),
                "to": str(msg["to"]),
                "from": str(msg["from"]),
                "message_id": str(msg["message-id"]),
                "text": text.get_content() if text is not None else None,
                "html": html.get_content() if html is not None else None,
            }
        )
    json.dump(out, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main(sys.argv[1])
