"""The original project's extraction (research/seed.md §2.1), re-implemented as the baseline:
one synchronous `requests` loop over X recent search, 100 posts a page, pages kept in memory."""

from __future__ import annotations

import sys

import requests


def main(base: str, token: str) -> int:
    url = f"{base}/2/tweets/search/recent"
    params = {"query": "#NowPlaying", "max_results": 100, "tweet.fields": "id,text,created_at,entities"}
    tweets: list[dict[str, object]] = []
    while True:
        response = requests.get(url, params=params, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        if response.status_code != 200:
            sys.exit(f"X answered {response.status_code}")
        body = response.json()
        tweets.extend(body.get("data", []))
        token_next = body.get("meta", {}).get("next_token")
        if not token_next:
            break
        params["next_token"] = token_next
    print(len(tweets))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
