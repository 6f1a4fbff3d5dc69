"""Pure functions: a source's native object into a Post record (DESIGN.md).

Each raises ``RecordError`` naming what is wrong with one item; the caller counts it, logs it with
the item's id and goes on with the page.
"""

from __future__ import annotations

import html
from html.parser import HTMLParser
from typing import Any

from nowplaying.common.models import Post, RecordError, format_rfc3339, parse_rfc3339


def _get(obj: Any, key: str, kind: type | tuple[type, ...], what: str) -> Any:
    if not isinstance(obj, dict):
        raise RecordError(f"{what} is not an object")
    value = obj.get(key)
    if not isinstance(value, kind):
        raise RecordError(f"{what} has no valid '{key}'")
    return value


# --- X API v2 ----------------------------------------------------------------------------------
def x_users_by_id(page: dict[str, Any]) -> dict[str, dict[str, Any]]:
    users = (page.get("includes") or {}).get("users") or []
    return {u["id"]: u for u in users if isinstance(u, dict) and isinstance(u.get("id"), str)}


def x_tweet_to_post(tweet: Any, users: dict[str, dict[str, Any]]) -> Post:
    tweet_id = _get(tweet, "id", str, "tweet")
    text = _get(tweet, "text", str, f"tweet {tweet_id}")
    created_at = _get(tweet, "created_at", str, f"tweet {tweet_id}")
    author_id = _get(tweet, "author_id", str, f"tweet {tweet_id}")
    urls: list[str] = []
    for entity in (tweet.get("entities") or {}).get("urls") or []:
        if isinstance(entity, dict):
            url = entity.get("unwound_url") or entity.get("expanded_url") or entity.get("url")
            if isinstance(url, str):
                urls.append(url)
    referenced = tweet.get("referenced_tweets") or []
    is_repost = text.startswith("RT @") or any(isinstance(r, dict) and r.get("type") == "retweeted" for r in referenced)
    user = users.get(author_id) or {}
    raw = dict(tweet)
    if user:
        raw["author"] = user
    return Post.from_dict(
        {
            "source": "x",
            "post_id": tweet_id,
            "created_at": created_at,
            "author_id": author_id,
            "author_name": user.get("username") if isinstance(user.get("username"), str) else None,
            "lang": tweet.get("lang") if isinstance(tweet.get("lang"), str) else None,
            "text": html.unescape(text),
            "urls": urls,
            "is_repost": is_repost,
            "raw": raw,
        }
    )


# --- Mastodon ------------------------------------------------------------------------------------
class _MastodonHTML(HTMLParser):
    """Mastodon's sanitized status HTML (p, br, span, a) into plain text and the links it holds.

    Mentions and hashtags are links too; they stay in the text (as "@user" / "#tag") but only
    other links are collected as URLs.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.urls: list[str] = []
        self._paragraphs = 0
        self._hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        if tag == "p":
            if self._paragraphs:
                self.parts.append("\n\n")
            self._paragraphs += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag == "a":
            href = attributes.get("href")
            if href and "mention" not in classes and "hashtag" not in classes:
                self.urls.append(href)
        elif tag == "span" and "invisible" in classes:
            # Mastodon shortens long links with invisible spans; the href keeps the whole URL.
            self._hidden_depth += 1
        if self._hidden_depth and tag == "span" and "invisible" not in classes:
            self._hidden_depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self._hidden_depth:
            self._hidden_depth -= 1

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def text(self) -> str:
        return "".join(self.parts).strip()


def mastodon_html_to_text(content: str) -> tuple[str, list[str]]:
    parser = _MastodonHTML()
    parser.feed(content)
    parser.close()
    return parser.text(), parser.urls


def mastodon_status_to_post(status: Any) -> Post:
    status_id = _get(status, "id", str, "status")
    what = f"status {status_id}"
    created_at = _get(status, "created_at", str, what)
    account = _get(status, "account", dict, what)
    account_id = _get(account, "id", str, f"{what} account")
    content = status.get("content")
    if not isinstance(content, str):
        raise RecordError(f"{what} has no valid 'content'")
    reblog = status.get("reblog")
    source_status = reblog if isinstance(reblog, dict) else status
    text, urls = mastodon_html_to_text(source_status.get("content") or content)
    card = status.get("card")
    if isinstance(card, dict) and isinstance(card.get("url"), str) and card["url"] not in urls:
        urls.append(card["url"])
    acct = account.get("acct")
    return Post.from_dict(
        {
            "source": "mastodon",
            "post_id": status_id,
            "created_at": created_at,
            "author_id": account_id,
            "author_name": acct if isinstance(acct, str) else None,
            "lang": status.get("language") if isinstance(status.get("language"), str) else None,
            "text": text,
            "urls": urls,
            "is_repost": isinstance(reblog, dict),
            "raw": status,
        }
    )


# --- Bluesky ----------------------------------------------------------------------------------------
def bluesky_post_to_post(view: Any) -> Post:
    uri = _get(view, "uri", str, "post")
    what = f"post {uri}"
    author = _get(view, "author", dict, what)
    did = _get(author, "did", str, f"{what} author")
    record = _get(view, "record", dict, what)
    text = _get(record, "text", str, f"{what} record")
    created_at = _get(record, "createdAt", str, f"{what} record")
    urls: list[str] = []
    for facet in record.get("facets") or []:
        for feature in (facet or {}).get("features") or [] if isinstance(facet, dict) else []:
            if isinstance(feature, dict) and feature.get("$type") == "app.bsky.richtext.facet#link":
                uri_value = feature.get("uri")
                if isinstance(uri_value, str) and uri_value not in urls:
                    urls.append(uri_value)
    for embed in (record.get("embed"), view.get("embed")):
        external = (embed or {}).get("external") if isinstance(embed, dict) else None
        if isinstance(external, dict) and isinstance(external.get("uri"), str) and external["uri"] not in urls:
            urls.append(external["uri"])
    langs = record.get("langs")
    lang = langs[0] if isinstance(langs, list) and langs and isinstance(langs[0], str) else None
    handle = author.get("handle")
    return Post.from_dict(
        {
            "source": "bluesky",
            "post_id": uri,
            "created_at": created_at,
            "author_id": did,
            "author_name": handle if isinstance(handle, str) else None,
            "lang": lang,
            "text": text,
            "urls": urls,
            "is_repost": False,
            "raw": view,
        }
    )


def bluesky_sort_time(view: dict[str, Any]) -> str:
    """The instant Bluesky's since/until compare against: sortAt, the earlier of the record's
    createdAt and indexedAt (as RFC 3339, milliseconds)."""
    stamps = []
    record = view.get("record")
    for value in (view.get("indexedAt"), record.get("createdAt") if isinstance(record, dict) else None):
        if isinstance(value, str):
            stamps.append(parse_rfc3339(value))
    if not stamps:
        raise RecordError(f"post {view.get('uri')} has no indexedAt or createdAt")
    return format_rfc3339(min(stamps))
