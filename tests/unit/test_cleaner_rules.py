"""The cleaner's second-pass rules: which side of a separator is the artist, language frames,
brackets, versions, chatter and station ids (real-looking posts, several scripts)."""

from __future__ import annotations

import pytest
from nowplaying.cleaner.core import clean_post

from tests.support.posts import make_post

ORDER = [
    # title words on the left and none on the right: the post names the title first
    ("Everything Is Free - Gillian Welch https://t.co/NSszJx7jV9", "Gillian Welch", "Everything Is Free",
     "dash_title_words"),
    ("#WakingUpTo\nDiamonds On The Soles Of Her Shoes - Paul Simon", "Paul Simon", "Diamonds On The Soles Of Her Shoes",
     "dash_title_words"),
    # no evidence either way: artist first
    ("Кино — Группа крови #np", "Кино", "Группа крови", "dash"),
    # a leading "The" belongs to a band; an inner "the" on the right side blocks the swap
    ("The Kills - Doing It to Death", "The Kills", "Doing It to Death", "dash"),
    ("Built to Spill - Carry the Zero", "Built to Spill", "Carry the Zero", "dash"),
    # the side a mention in the post spells is the artist
    ("Just released! Minx - Zayde Wolf https://t.co/K8nJ9X3O84 @zaydewolf", "Zayde Wolf", "Minx",
     "dash_title_mention"),
    # ... and a given name says the same ("Emily Justin" reads as a person, "Minx" does not)
    ("Just released! Minx - Emily Justin https://t.co/K8nJ9X3O84 @itsemilyjustin", "Emily Justin", "Minx",
     "dash_title_first_name"),
    # colon posts keep "Artist: Title" even with title words on the left
    ("Tears for Fears:\n  🎵 Pale shelter\n#NowPlaying", "Tears for Fears", "Pale shelter", "colon"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "artist", "title", "rule"), ORDER)
def test_separator_order_from_evidence(text: str, artist: str, title: str, rule: str) -> None:
    parsed = clean_post(make_post(text))
    first = parsed.readings()[0]
    assert (first.artist, first.title, first.rule) == (artist, title, rule), parsed
    if rule.endswith("_title_words"):
        # title words alone were right in 5 of 18 claims on the dev half (bench/data): the order is
        # the first reading, the other order a later one, and the post is not claimed as parsed
        assert parsed.kind == "query" and parsed.rule == f"unsure_{rule}", parsed
        assert (title, artist) in [(c.artist, c.title) for c in parsed.candidates], parsed
    else:
        assert (parsed.kind, parsed.artist, parsed.title, parsed.rule) == ("parsed", artist, title, rule), parsed


PARSED = [
    # "listening to" framed in other languages ("de"/"di" = "by" inside the frame)
    ("Escuchando Noche de Verano de Rocío Núñez 🎶 #NowPlaying", "Rocío Núñez", "Noche de Verano"),
    ("J'écoute Sal Rota de La Sonora Dorada #nowplaying", "La Sonora Dorada", "Sal Rota"),
    ("Sto ascoltando Albachiara di Vasco Rossi #nowplaying", "Vasco Rossi", "Albachiara"),
    ("Ouvindo Marisa Monte - Ainda Bem agora #NowPlaying", "Marisa Monte", "Ainda Bem"),
    ("Ich höre gerade Jürgen Großmann – Sommer in der Stadt #nowplaying", "Jürgen Großmann", "Sommer in der Stadt"),
    ("Сейчас играет: Алексей Ковалёв — дождь и ветер #nowplaying", "Алексей Ковалёв", "дождь и ветер"),
    # 【Artist】Title and «Title»
    ("#NowPlaying 【宇多田ヒカル】First Love", "宇多田ヒカル", "First Love"),
    ("#Nowplaying 【아이유】좋은 날", "아이유", "좋은 날"),
    ("Stromae «Alors on danse» #NowPlaying 🎵", "Stromae", "Alors on danse"),
    ("Земфира «Искала» #nowplaying", "Земфира", "Искала"),
    # an elided first word keeps its apostrophe
    ("#NowPlaying Tyler Calloway - 'Til the Stranger Ends", "Tyler Calloway", "'Til the Stranger Ends"),
    # a third segment naming a version stays in the title
    ("#NOWPLAYING Hélène Ségara - Il y a trop de gens qui t'aiment - Live 🙌", "Hélène Ségara",
     "Il y a trop de gens qui t'aiment - Live"),
    ("Queen - Bohemian Rhapsody - Remastered 2011", "Queen", "Bohemian Rhapsody - Remastered 2011"),
    # a mention right after "by" is the artist (named by the handle conventions), not an edge mention
    ("@Spotify Mikrokosmos by @BTS_twt!! 💜💜💜", "BTS", "Mikrokosmos"),
    ("Saturday Night Jam:\n\nChange by @PepperLive \n\nhttps://t.co/JGn93UpzsW", "Pepper", "Change"),
    # a break right before "by" does not empty the title
    ("NICE TO MEET YA! by The Griswolds\nhttps://t.co/ShUXfIqeIa", "The Griswolds", "NICE TO MEET YA!"),
    # "w/" names a guest: the first-named artist is kept
    ("Dr. John w/Lukas Nelson & Promise of the Real - I Walk On Guilded Splinters", "Dr. John",
     "I Walk On Guilded Splinters"),
    ("“Indigo” w @MOONZzMUSIC out NOW", "MOONZz", "Indigo"),
    # "X listen to Artist - Title", and a possessive before a quoted title
    ("Phil & Left NIMBYs listen to Suicide Silence - Genocide.", "Suicide Silence", "Genocide"),
    ("Coolio’s “Gangstas Paradise” tonight", "Coolio", "Gangstas Paradise"),
    # a dated bracket is not an artist
    ("[Mar 08, 2022. 04:42:43 AM] \n\nMy creator is currently playing: \nFor Your Relief by Calming Eyes",
     "Calming Eyes", "For Your Relief"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "artist", "title"), PARSED)
def test_new_patterns_give_artist_and_title(text: str, artist: str, title: str) -> None:
    parsed = clean_post(make_post(text))
    assert (parsed.kind, parsed.artist, parsed.title) == ("parsed", artist, title), parsed


NOT_A_SPLIT = [
    # "produced by X" names a producer, "Stand By the Highway" is one title, a date is not an artist
    "It’s here! “Circle” produced by the amazing team of @GreyCaitlin and @NHarvey44.",
    "#Nowplaying Jesse Whitaker Stand By the Highway 🎶",
    "Album Covers I did for @shoelacebelter ft. @DomDolo — c. 2020 🛹🐉",
    "@Power36Flower Hello there beautiful Flower, también me gusta mucho: \nLivin' on a prayer...🤘",
]


@pytest.mark.parametrize("text", NOT_A_SPLIT)
def test_weak_evidence_gives_no_wrong_split(text: str) -> None:
    parsed = clean_post(make_post(text))
    assert parsed.kind in ("query", "none"), parsed


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("#NowPlaying nothing, my headphones broke 😩", "none_chatter"),
        ("drop your #nowplaying below 👇", "none_chatter"),
        ("What's everyone listening to tonight? #NowPlaying", "none_chatter"),
        ("#NowPlaying Радио Полярная Звезда 📻", "none_station"),
        ("#NowPlaying Lounge 24/7 📻", "none_station"),
        ("Now Playing on Rádio Horizonte #nowplaying", "none_station"),
    ],
)
def test_chatter_and_station_ids_are_none(text: str, rule: str) -> None:
    parsed = clean_post(make_post(text))
    assert (parsed.kind, parsed.rule) == ("none", rule), parsed


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("#NowPlaying Jude Hart Kiss It Like Rosie 🎧", "Jude Hart Kiss It Like Rosie"),
        ("Don't Take Me Closer 💿💿 #NowPlaying", "Don't Take Me Closer"),
        ("Stand By the Shadows 🎧🎧 #NowPlaying", "Stand By the Shadows"),
    ],
)
def test_title_case_song_text_stays_a_query(text: str, query: str) -> None:
    parsed = clean_post(make_post(text))
    assert (parsed.kind, parsed.query) == ("query", query), parsed


def test_a_link_path_is_not_the_post_naming_an_album() -> None:
    # "album" in an Apple Music link's path says nothing; "album" in the words does
    song = clean_post(
        make_post("#NowPlaying Mi Sal by Paloma Bermúdez https://music.apple.com/us/album/mi-sal/1481891497")
    )
    assert (song.kind, song.artist, song.title) == ("parsed", "Paloma Bermúdez", "Mi Sal"), song
    album = clean_post(make_post("Listening to SWIM by @caribouband. Good album indeed."))
    assert album.kind in ("none", "query"), album
