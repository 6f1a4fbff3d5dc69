"""Radio stations and automated accounts: the platform's flag, the posting app, the account's name,
a broadcast format in the text, or the rate of song posts in a batch."""

from __future__ import annotations

import re
from functools import lru_cache

from nowplaying.common.models import ParsedPost, Post

# --- bots ------------------------------------------------------------------------------------
_BOT_APP_RE = re.compile(
    r"(?i)ifttt|dlvr\.?it|twitterfeed|buffer|hootsuite|zapier|socialoomph|radio|\bfm\b|now\s*playing|nowplaying|"
    r"\bbot\b|autopost|auto\s*post|airtime|sam\s*broadcaster|spinitron|live365|tunein|radioking|azuracast|"
    r"centova|icecast|shoutcast|mixlr|automat|\brss\b|feed"
)
_BOT_NAME_RE = re.compile(
    r"(?i)\bradio\b|\bfm\b|\d{2,3}[.,]\d\b|\bbot\b|nowplaying|now\s*playing|\bplaylist\b|\bdj\s*bot\b"
)


@lru_cache(maxsize=4096)
def _is_bot_app(name: str) -> bool:
    return bool(_BOT_APP_RE.search(name))


# Every _BOT_NAME_RE match holds one of these (lower-cased), or a "." or "," (of "101.5"): an ASCII
# name without any is no bot's (IGNORECASE also folds a few non-ASCII letters, so those go to the regex).
_BOT_NAME_KEYS = ("radio", "fm", "bot", "now", "playlist", ".", ",")


@lru_cache(maxsize=65536)
def _is_bot_name(name: str) -> bool:
    if name.isascii():
        low = name.lower()
        if not any(key in low for key in _BOT_NAME_KEYS):
            return False
    return bool(_BOT_NAME_RE.search(name))


def detect_bot(post: Post, bot_format: bool = False) -> bool:
    """Radio stations and automated accounts: the platform's bot flag, the posting app, the
    account name, or a fixed broadcast format in the text."""
    raw = post.raw
    if raw:
        account = raw.get("account")
        if isinstance(account, dict) and account.get("bot") is True:
            return True
        author = raw.get("author")
        if isinstance(author, dict) and author.get("bot") is True:
            return True
        app = raw.get("source")
        if isinstance(app, str) and app and _is_bot_app(app):
            return True
        application = raw.get("application")
        if isinstance(application, dict):
            name = application.get("name")
            if isinstance(name, str) and _is_bot_app(name):
                return True
    if post.author_name and _is_bot_name(post.author_name):
        return True
    return bot_format


def mark_rate_bots(posts: list[ParsedPost], per_hour: int = 20) -> int:
    """Batch-level evidence: an author with more than ``per_hour`` song posts in one hour is an
    automated account. Sets ``is_bot`` on all of that author's posts; returns how many changed."""
    counts: dict[tuple[str, str, str], int] = {}
    for post in posts:
        if post.kind != "none":
            key = (post.source, post.author_id, post.created_at[:13])
            counts[key] = counts.get(key, 0) + 1
    busy = {(source, author) for (source, author, _hour), n in counts.items() if n > per_hour}
    changed = 0
    if busy:
        for post in posts:
            if not post.is_bot and (post.source, post.author_id) in busy:
                post.is_bot = True
                changed += 1
    return changed
