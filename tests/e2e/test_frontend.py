"""The web app in headless Chromium against the real gateway over data loaded into Cassandra.

Every page shows real data; the Data table pages forward and back and its filters narrow the rows;
the chart builder switches a metric between bars and the line; post text holding markup shows as
plain text and runs nothing. A screenshot of every page goes to test-artifacts/screenshots/.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from typing import Any

from tests.e2e.conftest import HOSTILE_TEXT, E2EData, Tab


def _rows(tab: Tab) -> Any:
    return tab.page.locator("table.plays tbody tr")


def _post_ids(tab: Tab) -> list[str]:
    return [str(v) for v in _rows(tab).evaluate_all("rows => rows.map(r => r.dataset.post)")]


def _headers(tab: Tab) -> list[str]:
    return [str(v) for v in tab.page.locator("table.plays thead th").evaluate_all("ths => ths.map(t => t.textContent)")]


def _wait_rows(tab: Tab) -> None:
    tab.page.wait_for_selector("table.plays tbody tr")
    tab.page.wait_for_function("() => !document.querySelector('.results[aria-busy]')")


def _charts_settled(tab: Tab) -> None:
    tab.page.wait_for_function("() => !document.querySelector('.panel-body[aria-busy]')")
    tab.page.wait_for_selector("#tt-h ~ .panel-body table tbody tr")


def _top_plays(tab: Tab) -> int:
    first = tab.page.locator("#tt-h ~ .panel-body table tbody tr").first
    return int(first.locator("td.num").nth(1).inner_text().replace(",", ""))


def _expected_top_track(data: E2EData) -> tuple[str, int]:
    counts = Counter(r["id_track"] for r in data.today_rows if r["id_track"])
    track_id, plays = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0]
    name = next(r["name"] for r in data.today_rows if r["id_track"] == track_id)
    return name, plays


def test_home_shows_what_it_does_the_flow_status_and_todays_numbers(tab: Tab, e2e_data: E2EData) -> None:
    tab.go("")
    page = tab.page
    page.wait_for_selector(".stats")
    assert "#NowPlaying" in page.locator("h1").inner_text()
    posts_today = page.locator(".stat", has_text="Posts today").locator(".stat-value").inner_text()
    assert posts_today == f"{len(e2e_data.today_rows):,}"
    top_name, _ = _expected_top_track(e2e_data)
    assert page.locator(".stat", has_text="Top track now").locator(".stat-value").inner_text() == top_name
    # The flow diagram and the live status of every stage.
    page.wait_for_selector("svg.flow-wide g.node")
    assert page.locator("svg.flow-wide g.node").count() == 9
    status = page.locator("table.grid", has_text="Stage")
    for stage in ("extract", "clean", "enrich", "load", "aggregate"):
        assert status.locator("tbody th", has_text=stage).count() == 1
    # The Spark job ran in the setup: its row shows a finished run.
    aggregate_row = status.locator("tbody tr", has=page.locator("th", has_text="aggregate"))
    assert aggregate_row.locator(".badge").inner_text() in ("OK", "partial")
    tab.shot("home")
    assert not tab.errors, tab.errors
    assert not tab.console, tab.console


def test_data_table_pages_forward_and_back(tab: Tab, e2e_data: E2EData) -> None:
    tab.go("#/data")
    _wait_rows(tab)
    first_page = _post_ids(tab)
    assert len(first_page) == 50
    # Newest first: the newest play of all (the hostile post) is the first row.
    assert first_page[0] == f"mastodon:{e2e_data.hostile['post_id']}"
    tab.shot("data")
    tab.shot("data-top", full_page=False)
    tab.page.get_by_role("button", name="Older →").click()
    tab.page.wait_for_function("() => document.querySelector('.page-label').textContent === 'Page 2'")
    _wait_rows(tab)
    second_page = _post_ids(tab)
    assert second_page and not set(second_page) & set(first_page)
    tab.page.get_by_role("button", name="← Newer").click()
    tab.page.wait_for_function("() => document.querySelector('.page-label').textContent === 'Page 1'")
    _wait_rows(tab)
    assert _post_ids(tab) == first_page
    assert tab.page.get_by_role("button", name="← Newer").is_disabled()


def test_data_filters_narrow_the_rows_and_the_export_follows_them(tab: Tab, e2e_data: E2EData) -> None:
    artist = e2e_data.artist_for_filter()
    tab.go("#/data")
    _wait_rows(tab)
    page = tab.page
    page.locator("#f-artist").fill(artist)
    page.locator("#f-matched").select_option("true")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_function(
        "artist => [...document.querySelectorAll('table.plays tbody td.col-artist_names')]"
        ".every(td => td.textContent.toLowerCase().includes(artist.toLowerCase()))",
        arg=artist,
    )
    _wait_rows(tab)
    cells = page.locator("table.plays tbody td.col-artist_names").all_inner_texts()
    assert all(artist.lower() in cell.lower() for cell in cells)
    # Between today's plays by the artist and those of the last 24 h (the window starts when applied).
    assert (
        len(e2e_data.by_artist(artist, e2e_data.today_rows))
        <= len(cells)
        <= len(e2e_data.by_artist(artist, e2e_data.last_day_rows()))
    )
    assert len(cells) < 50
    # The address keeps the filters, and the CSV export is the same filtered range.
    assert "artist=" in page.url and "matched=true" in page.url
    href = page.get_by_role("link", name="Export CSV").get_attribute("href")
    response = page.request.get(tab.base + href)
    assert response.status == 200
    exported = list(csv.DictReader(io.StringIO(response.text())))
    assert len(exported) == len(cells)
    assert all(artist.lower() in row["artists_name"].lower() for row in exported)
    tab.shot("data-filtered")
    # Unmatched only: every row says so.
    page.locator("#f-artist").fill("")
    page.locator("#f-matched").select_option("false")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('table.plays tbody td.col-track_name')]"
        ".every(td => td.textContent === 'Not matched')"
    )
    assert _rows(tab).count() > 0


def test_column_chooser_shows_and_hides_columns(tab: Tab) -> None:
    tab.go("#/data")
    _wait_rows(tab)
    page = tab.page
    assert "Album" not in _headers(tab)
    page.get_by_text("Columns", exact=True).click()
    page.get_by_label("Album", exact=True).check()
    page.wait_for_function(
        "() => [...document.querySelectorAll('table.plays thead th')].some(th => th.textContent === 'Album')"
    )
    page.get_by_label("Energy", exact=True).uncheck()
    page.wait_for_function(
        "() => ![...document.querySelectorAll('table.plays thead th')].some(th => th.textContent === 'Energy')"
    )
    # Remembered for the next visit.
    page.reload()
    _wait_rows(tab)
    texts = _headers(tab)
    assert "Album" in texts and "Energy" not in texts and "Post" in texts


def test_post_markup_shows_as_plain_text_and_runs_nothing(tab: Tab, e2e_data: E2EData) -> None:
    tab.go("#/data")
    _wait_rows(tab)
    page = tab.page
    cell = _rows(tab).first.locator(".post-text")
    assert HOSTILE_TEXT in e2e_data.hostile["text"]
    assert cell.inner_text() == e2e_data.hostile["text"]
    assert page.locator("main img").count() == 0
    assert page.locator("main script").count() == 0
    # The row opens its track by keyboard; the post shows there as text too.
    _rows(tab).first.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("ol.posts li")
    assert page.url.endswith(f"#/track/{e2e_data.hostile['id_track']}")
    bodies = page.locator("ol.posts .post-body").all_inner_texts()
    assert e2e_data.hostile["text"] in bodies
    assert page.locator("main img").count() == 0
    page.wait_for_timeout(300)
    assert tab.dialogs == []
    assert not tab.errors, tab.errors
    assert not tab.console, tab.console


def test_track_page_shows_details_features_plays_and_posts(tab: Tab, e2e_data: E2EData) -> None:
    track = e2e_data.hostile
    tab.go(f"#/track/{track['id_track']}")
    page = tab.page
    page.wait_for_selector("ol.posts li")
    assert page.locator("h1").inner_text() == track["name"]
    assert e2e_data.artists_of(track)[0] in page.locator(".track-head .artists").inner_text()
    assert page.locator(".meter-row").count() == 7
    danceability = float(track["danceability"])
    assert (
        page.locator(".meter-row", has_text="Danceability").locator(".meter-value").inner_text()
        == f"{danceability:.2f}"
    )
    page.wait_for_selector("canvas#track-plays")
    # The newest posts first, the rest (up to the 50 asked for) on request.
    mentions = [r for r in e2e_data.rows if r["id_track"] == track["id_track"]]
    assert len(mentions) > 10
    assert page.locator("ol.posts li").count() == 10
    tab.shot("track")
    page.get_by_role("button", name="Show all").click()
    assert page.locator("ol.posts li").count() == min(50, len(mentions))


def test_visuals_chart_builder_switches_between_bars_and_line(tab: Tab) -> None:
    tab.go("#/visuals")
    page = tab.page
    canvas = page.locator("canvas#builder-chart")
    page.wait_for_function("() => document.querySelector('#builder-chart').dataset.series === 'bar:plays'")
    # Energy as the line.
    page.locator("#line-set").get_by_label("Energy").check()
    page.wait_for_function("() => document.querySelector('#builder-chart').dataset.series === 'bar:plays,line:energy'")
    assert not page.locator("#bars-set").get_by_label("Energy").is_checked()
    # Energy as bars instead: it leaves the line.
    page.locator("#bars-set").get_by_label("Energy").check()
    page.wait_for_function("() => document.querySelector('#builder-chart').dataset.series === 'bar:plays,bar:energy'")
    assert page.locator("#line-set").get_by_label("None").is_checked()
    # Plays as the line: it leaves the bars.
    page.locator("#line-set").get_by_label("Plays").check()
    page.wait_for_function("() => document.querySelector('#builder-chart').dataset.series === 'bar:energy,line:plays'")
    # Quantity and sort reach the numbers behind the chart.
    page.get_by_label("Quantity").select_option("5")
    page.get_by_label("Sort by").select_option("plays")
    page.locator("details.chart-data summary").click()
    page.wait_for_function("() => document.querySelectorAll('details.chart-data tbody tr').length === 5")
    plays = [
        int(v.replace(",", "")) for v in page.locator("details.chart-data tbody tr td:last-child").all_inner_texts()
    ]
    assert plays == sorted(plays, reverse=True) and plays[0] > 0
    page.locator("#v-order").click()
    page.wait_for_function(
        "() => { const v = [...document.querySelectorAll('details.chart-data tbody tr td:last-child')]"
        ".map(td => +td.textContent.replace(/,/g, ''));"
        " return v.length > 1 && v.every((x, i) => i === 0 || v[i - 1] <= x); }"
    )
    # Over days and artists too.
    page.locator("label.seg", has_text="Days").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('details.chart-data tbody th')]"
        ".every(th => /^\\d{4}-\\d{2}-\\d{2}$/.test(th.textContent))"
    )
    page.locator("label.seg", has_text="Artists").click()
    page.wait_for_function("() => document.querySelectorAll('details.chart-data tbody tr').length > 0")
    # The feature distribution has real counts.
    page.wait_for_selector("canvas#dist-chart")
    page.wait_for_function("() => /matched plays with energy/.test(document.body.textContent)")
    assert canvas.is_visible()
    tab.shot("visuals")
    tab.shot("visuals-top", full_page=False)


def test_charts_show_top_tracks_artists_and_trending(tab: Tab, e2e_data: E2EData) -> None:
    tab.go("#/charts")
    page = tab.page
    page.wait_for_selector("#tt-h ~ .panel-body table tbody tr")
    top_name, top_plays = _expected_top_track(e2e_data)
    first = page.locator("#tt-h ~ .panel-body table tbody tr").first
    assert first.locator("a").inner_text() == top_name
    assert first.locator("td.num").nth(1).inner_text() == str(top_plays)
    assert page.locator("#ta-h ~ .panel-body table tbody tr").count() > 0
    # Trending: tracks played today far above their week, each with its score.
    page.wait_for_selector("#tr-h ~ .panel-body table tbody tr")
    scores = [float(v) for v in page.locator("#tr-h ~ .panel-body table tbody tr td:last-child").all_inner_texts()]
    assert scores == sorted(scores, reverse=True) and scores[0] > 1
    tab.shot("charts")
    # The week: its top track has at least the plays of the day's top track.
    page.locator("label.seg", has_text="Week").click()
    page.wait_for_function("() => /The week of/.test(document.querySelector('.results-line').textContent)")
    _charts_settled(tab)
    week_top = _top_plays(tab)
    assert week_top >= top_plays
    # People only never counts more than everyone.
    page.get_by_label("Who").select_option("people")
    _charts_settled(tab)
    assert "audience=people" in page.url
    assert _top_plays(tab) <= week_top
    # Clicking a track opens it.
    page.get_by_label("Who").select_option("all")
    page.wait_for_selector("#tt-h ~ .panel-body table tbody tr")
    page.locator("#tt-h ~ .panel-body table tbody tr a").first.click()
    page.wait_for_selector("ol.posts li")
    assert "#/track/" in page.url


def _expected_top(rows: list[dict[str, str]]) -> tuple[str, int]:
    counts = Counter(r["id_track"] for r in rows if r["id_track"])
    track_id, plays = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0]
    return next(r["name"] for r in rows if r["id_track"] == track_id), plays


def test_charts_period_picker_shows_each_calendar_period(tab: Tab, e2e_data: E2EData) -> None:
    page = tab.page
    tab.go(f"#/charts?period=day&date={e2e_data.today.isoformat()}")
    _charts_settled(tab)
    assert _top_plays(tab) == _expected_top(e2e_data.today_rows)[1]
    # All time: every play loaded; the same top track and count a plain count of the CSV rows gives.
    page.locator("label.seg", has_text="All time").click()
    page.wait_for_function("() => /All time/.test(document.querySelector('.results-line').textContent)")
    _charts_settled(tab)
    name, plays = _expected_top(e2e_data.rows)
    first = page.locator("#tt-h ~ .panel-body table tbody tr").first
    assert first.locator("a").inner_text() == name and _top_plays(tab) == plays
    assert "period=all" in page.url
    assert page.get_by_role("button", name="Previous period").is_disabled()
    tab.shot("charts-all-time")
    # The month containing today: between the day's and all time's counts.
    page.locator("label.seg", has_text="Month").click()
    month = e2e_data.today.strftime("%B %Y")
    page.wait_for_function("m => document.querySelector('.results-line').textContent.includes(m)", arg=month)
    _charts_settled(tab)
    month_rows = [r for r in e2e_data.rows if r["created_at"][:7] == e2e_data.today.isoformat()[:7]]
    assert _top_plays(tab) == _expected_top(month_rows)[1]
    # The month before holds no plays when the data started this month: it says so in words.
    page.get_by_role("button", name="Previous period").click()
    page.wait_for_function("() => !document.querySelector('.panel-body[aria-busy]')")
    if not any(r["created_at"][:7] < e2e_data.today.isoformat()[:7] for r in e2e_data.rows):
        page.wait_for_selector("#tt-h ~ .panel-body .state.empty")
        assert "No top tracks for" in page.locator("#tt-h ~ .panel-body .state.empty").inner_text()
        tab.shot("charts-empty-month")
    assert not tab.errors, tab.errors
    assert not tab.console, tab.console


def test_activity_view_shows_when_where_and_who(tab: Tab, e2e_data: E2EData) -> None:
    page = tab.page
    tab.go("#/charts?period=all")
    page.wait_for_selector("#ac-h ~ .panel-body table.heatmap")
    total = len(e2e_data.rows)
    line = page.locator("#ac-h ~ .panel-body .results-line").inner_text()
    assert line.startswith(f"{total:,} plays")
    # The heatmap: 7 weekdays x 24 hours, its cells add up to every play.
    assert page.locator("table.heatmap tbody tr").count() == 7
    assert page.locator("table.heatmap tbody td.heat").count() == 168
    cells = page.locator("table.heatmap tbody td.heat").all_inner_texts()
    assert sum(int(c.replace(",", "")) for c in cells if c) == total
    # By source: the sources of the loaded rows, with their counts.
    sources = Counter(r["source"] for r in e2e_data.rows)
    source_table = page.locator("h3", has_text="By source").locator("xpath=following-sibling::*[1]")
    shown = {
        row.locator("th").inner_text(): int(row.locator("td.num").first.inner_text().replace(",", ""))
        for row in source_table.locator("tbody tr").all()
    }
    assert shown == dict(sources)
    assert page.locator("h3", has_text="By language").count() == 1
    assert page.locator("canvas[data-chart='activity-time']").count() == 1
    page.locator("#activity").scroll_into_view_if_needed()
    tab.shot("charts-activity")
    assert not tab.errors, tab.errors
    assert not tab.console, tab.console


def test_home_states_how_fresh_the_numbers_are(
    tab: Tab, e2e_data: E2EData, cassandra_session: Any, cassandra_settings: Any
) -> None:
    page = tab.page
    tab.go("")
    page.wait_for_selector("[data-freshness]")
    assert page.locator("[data-age='play']").inner_text() not in ("", "none yet")
    assert page.locator("[data-age='aggregate']").inner_text() not in ("", "none yet")
    # Before the first aggregate (plays loaded; no daily summary, no period run yet): the numbers say
    # they are still computing, never "0 of 0".
    keyspace = cassandra_settings.cassandra_keyspace
    today = e2e_data.today
    saved = [
        (table, row)
        for table, where, args in (
            ("agg_checkpoints", "engine = ?", ("periods",)),
            ("daily_summary", "day = ?", (today,)),
        )
        for row in cassandra_session.execute(
            cassandra_session.prepare(f"SELECT * FROM {keyspace}.{table} WHERE {where}"), args
        )
    ]
    assert {table for table, _ in saved} == {"agg_checkpoints", "daily_summary"}
    cassandra_session.execute(f"DELETE FROM {keyspace}.agg_checkpoints WHERE engine = 'periods'")
    cassandra_session.execute(
        cassandra_session.prepare(f"DELETE FROM {keyspace}.daily_summary WHERE day = ?"), (today,)
    )
    try:
        tab.go("#/data")
        tab.go("")
        page.wait_for_selector("text=Still computing")
        assert page.locator("[data-age='aggregate']").inner_text() == "none yet"
        numbers = page.locator("#today-h ~ .panel-body").inner_text()
        assert "0 of 0" not in numbers and "0%" not in numbers
        posts_today = page.locator(".stat", has_text="Posts today").locator(".stat-value").inner_text()
        assert posts_today == f"{len(e2e_data.today_rows):,}"  # the loaded plays are counted meanwhile
        tab.shot("home-still-computing")
    finally:
        for table, row in saved:
            columns = row._fields
            marks = ", ".join("?" for _ in columns)
            cassandra_session.execute(
                cassandra_session.prepare(f"INSERT INTO {keyspace}.{table} ({', '.join(columns)}) VALUES ({marks})"),
                tuple(row),
            )
    # and once the aggregates are back, the real numbers replace the words
    tab.go("#/data")
    tab.go("")
    page.locator(".stat", has_text="Matched to a track").wait_for()
    assert "Still computing" not in page.locator("#today-h ~ .panel-body").inner_text()
    assert not tab.errors, tab.errors


def test_phone_sized_pages_and_keyboard_navigation(phone: Tab, e2e_data: E2EData) -> None:
    page = phone.page
    phone.go("")
    page.wait_for_selector(".stats")
    page.wait_for_selector("svg.flow-narrow g.node")
    assert page.locator("svg.flow-narrow").is_visible() and not page.locator("svg.flow-wide").is_visible()
    # Nothing wider than the screen but the scrollable tables.
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    phone.shot("home-phone")
    # Keyboard: the skip link comes first, then the menu.
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent") == "Data"
    page.keyboard.press("Enter")
    page.wait_for_selector("table.plays tbody tr")
    assert page.evaluate("() => document.activeElement.tagName") == "H1"
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    # The filters start folded on a phone and open from the keyboard.
    assert not page.locator("details.filters").evaluate("d => d.open")
    phone.shot("data-phone")
    phone.shot("data-phone-top", full_page=False)
    page.locator("details.filters > summary").focus()
    page.keyboard.press("Enter")
    assert page.locator("#f-artist").is_visible()
    phone.go("#/visuals")
    page.wait_for_function("() => document.querySelector('#builder-chart').dataset.series === 'bar:plays'")
    phone.shot("visuals-phone")
    phone.go("#/charts")
    page.wait_for_selector("#tt-h ~ .panel-body table tbody tr")
    phone.shot("charts-phone")
    phone.go(f"#/track/{e2e_data.hostile['id_track']}")
    page.wait_for_selector("ol.posts li")
    phone.shot("track-phone")
    assert not phone.errors, phone.errors
    assert not phone.console, phone.console


def test_errors_are_in_words(tab: Tab) -> None:
    tab.go("#/track/no-such-track")
    tab.page.wait_for_selector("text=Track not found")
    assert "no-such-track" in tab.page.locator(".state").inner_text()
    tab.go("#/nowhere")
    tab.page.wait_for_selector("text=Page not found")
    tab.shot("not-found")
