"""The cleaner's third-pass rules: abbreviations and quotes that must not cut a title, "Title (Artist)",
station promos, Spotify's spelling of version tags, artist handles, share text, and the guards that
keep prose from being claimed as a song (real-looking posts, several scripts)."""

from __future__ import annotations

import pytest
from nowplaying.cleaner.core import clean_post, handle_name, spotify_version

from tests.support.posts import make_post

PARSED = [
    # an abbreviation's full stop is not a sentence end
    ("#NowPlaying Wild Paradise, Pt. 2 by Sunday Drivers https://t.co/dvj2aG2quQ", "Sunday Drivers",
     "Wild Paradise, Pt. 2", "by"),
    ("Mr. Brightside by The Killers 🔥", "The Killers", "Mr. Brightside", "by"),
    ("Still D.R.E. by Dr. Dre. Classic.", "Dr. Dre", "Still D.R.E.", "by"),
    ("J'écoute Nuit d'été, Vol. 2 de Zaz #nowplaying", "Zaz", "Nuit d'été, Vol. 2", "by"),
    # a quoted title wins over a "by" inside it
    ('I\'m listening to "Stand By the Harbor" by Wren Rowe on TIDAL #tidal #NowPlaying', "Wren Rowe",
     "Stand By the Harbor", "template_listening"),
    # apostrophes inside a single-quoted title, an elided first word, "Rock 'n' Roll" is no quote
    ("Sienna Mercer 'Don't Take Me Closer' #NowPlaying 🙌", "Sienna Mercer", "Don't Take Me Closer", "quoted"),
    ("Cassidy Rae ''Til the Heartbeat Ends' #NowPlaying 🎧", "Cassidy Rae", "'Til the Heartbeat Ends", "quoted"),
    ("Rock 'n' Roll Star by Oasis #np", "Oasis", "Rock 'n' Roll Star", "by"),
    # "Title (Artist)" when nothing else splits the post
    ("#Nowplaying Don't Leave Me Closer (Ezra Lowe) ❤️", "Ezra Lowe", "Don't Leave Me Closer", "brackets_title_artist"),
    ("#NowPlaying 夜明けの光 (松本美咲) 😍", "松本美咲", "夜明けの光", "brackets_title_artist"),
    ("#NOWPLAYING (I Just) Leave You (Quinn Sutton) ✨", "Quinn Sutton", "(I Just) Leave You", "brackets_title_artist"),
    # a final full stop that belongs to a name stays; in a template slot it always does
    ("♪ (I Just) Show You / M.I.R.A. #nowplaying #seoulwave", "M.I.R.A.", "(I Just) Show You", "slash_title_first"),
    ('I\'m listening to "Why Am I The One" by Fun. on Pandora http://t.co/AgX3YwSwgc #pandora', "Fun.",
     "Why Am I The One", "template_pandora"),
    ("I’m listening to Zzyzx Rd. by Stone Sour http://t.co/iitxo6jGW0 via @lastfm", "Stone Sour", "Zzyzx Rd.",
     "template_lastfm"),
    # version tags in Spotify's spelling; guests stay in parentheses
    ("BIG SWEDE - SILENT NIGHT (HIP HOP MIX) - Wishing you a happy and peaceful Advent!", "BIG SWEDE",
     "SILENT NIGHT - HIP HOP MIX", "dash"),
    ("Sex Pistols: C’Mon Everybody (Remastered 2012) https://t.co/yWGo0LL8mK", "Sex Pistols",
     "C'Mon Everybody - Remastered 2012", "colon"),
    ("#NOWPLAYING Jude Sutton - 별이 내리면 (sped up)", "Jude Sutton", "별이 내리면 - sped up", "dash"),
    ("Кино — Звезда по имени Солнце (Live) #np", "Кино", "Звезда по имени Солнце - Live", "dash"),
    ("#NowPlaying Marshmello - Alone (feat. Noah Cyrus)", "Marshmello", "Alone (feat. Noah Cyrus)", "dash"),
    # handles used as the artist, by the conventions of artist handles
    ("“Absolute” by @iamfoxes is such a good pop song. BOP. https://t.co/d0f8QnGq5k", "foxes", "Absolute",
     "quoted_by"),
    ("It's Friday!! #FridayVibes 'Life's Too Short' by @Adeshamusic &amp; @vksf01 #FridayFeeling", "Adesha",
     "Life's Too Short", "quoted_by"),
    ("Now Playing: @joonyoftv - This Time Last Year \n\n https://t.co/IBWzFZ31fu", "joony", "This Time Last Year",
     "dash"),
    # Spotify's share text: the first credited artist
    ("Here’s a song for you… Change (with Kehlani) by Arin Ray, Kehlani\nhttps://t.co/2zlZeiuxhq", "Arin Ray",
     "Change (with Kehlani)", "template_spotify_share"),
    ("Here’s a song for you… EARFQUAKE by Tyler, The Creator\nhttps://t.co/x", "Tyler, The Creator", "EARFQUAKE",
     "template_spotify_share"),
    # a sentence before "by": the capitalised run that ends it is the title
    ("I predict my most played song will be [fill in top song prediction] #SpotifyWrapped Insane by Summer Walker. "
     "https://t.co/1NjTHpsK1g", "Summer Walker", "Insane", "by"),
    ("If you’ve never heard Sea of Joy by Blind Faith I wish I were you.", "Blind Faith", "Sea of Joy", "by"),
    # a band's name may hold small words; "w/" guests before a colon
    ("#SeptSongLyricChallenge \nDay 29 - Bullet For My Valentine - Your Betrayal \n\nI'm not to blame",
     "Bullet For My Valentine", "Your Betrayal", "dash"),
    ("Dr. John w/Lukas Nelson &amp; Promise of the Real: I Walk On Guilded Splinters https://t.co/3ea9EFtsNU",
     "Dr. John", "I Walk On Guilded Splinters", "colon"),
    # "a new <Artist> song “Title”"
    ("I woke up today to a new @Northlane song, “Plenty.” Such an amazing track, I’ve been listening all day.",
     "Northlane", "Plenty", "quoted_new_song"),
    # lower-case titles are still titles
    ("we found love by rihanna", "rihanna", "we found love", "by"),
    ("drive by by train", "train", "drive by", "by"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "artist", "title", "rule"), PARSED)
def test_third_pass_patterns(text: str, artist: str, title: str, rule: str) -> None:
    parsed = clean_post(make_post(text))
    assert (parsed.kind, parsed.artist, parsed.title, parsed.rule) == ("parsed", artist, title, rule), parsed


NOT_CLAIMED = [
    # descriptors on either side of "by"
    "@realListige 7 CURSES the new single by singer, songwriter, guitarist and producer Chris Holly, is such a "
    "catchy ballad that its meaning can skate past you on first hearing. #indiemusic",
    "this week’s TRACK OF THE WEEK is the single PARTY ROCK by k-pop group @CRAVITYstarship !",
    "Mint? Another bop by Miss Namie Amuro that slaps https://t.co/YvJu17NXc9",
    'Feel the New!! K-duradge Dancehall single "Atieno yaw"  live on Spotify!',
    # two songs related in one sentence
    "Coolio’s “Gangstas Paradise” is actually a cover of Stevie Wonder’s “Pastime Paradise” … wild.",
    "Oh SNAP forgot:\nOuter Space by Prodigy which samples Chase The Devil by Max Romeo.\nhttps://t.co/I6wx97QznA",
    # a list of credits, a heading in sentence case, a title that tags an account
    "Favorite duets: anone by @Alex3768ly @yuika_singuitar bubble by eve and uta    https://t.co/gzHPc9XICe.",
    "Rola mañanera: todo tiene su final de Willie Colón https://t.co/rHtpK7CYuw",
    "CEO of @3musicAwards - @sadiqabdulaiabu - IN THE MOOD  🔥🔥🔥  #StarSOOREBIA",
    # a version or guest tag in brackets is not an artist
    "#NowPlaying Hallelujah (Live) 🎶",
    "#np Nothing Compares 2 U (Prince cover)",
]


@pytest.mark.parametrize("text", NOT_CLAIMED)
def test_weak_evidence_is_not_claimed(text: str) -> None:
    parsed = clean_post(make_post(text))
    assert parsed.kind in ("query", "none") and parsed.artist is None, parsed


@pytest.mark.parametrize(
    "text",
    [
        "Hitwave Radio - the best music all day! #NowPlaying",
        "KXLW 98.7 FM - the best music all day! #NowPlaying",
        "Radio Sol 24 — commercial free, non-stop hits #np",
        "Now Playing on Lounge 24/7 #nowplaying",
        "Now Playing on Indie Underground #nowplaying",
    ],
)
def test_station_promos_are_none(text: str) -> None:
    parsed = clean_post(make_post(text))
    assert (parsed.kind, parsed.rule) == ("none", "none_station"), parsed


def test_a_song_called_all_day_is_not_a_slogan() -> None:
    parsed = clean_post(make_post("#NowPlaying Kanye West - All Day 🔥"))
    assert (parsed.kind, parsed.artist, parsed.title) == ("parsed", "Kanye West", "All Day"), parsed


@pytest.mark.parametrize(
    ("handle", "name"),
    [
        ("iamfoxes", "foxes"),
        ("@Adeshamusic", "Adesha"),
        ("BTS_twt", "BTS"),
        ("PepperLive", "Pepper"),
        ("joonyoftv", "joony"),
        ("TheRealMarcus_official", "Marcus"),
        ("Beartoothband", "Beartooth"),
        ("ArianaGrandeVevo", "ArianaGrande"),
        ("the_weeknd", "the weeknd"),
        ("Olive", "Olive"),  # fewer than three characters would remain
        ("whereisMUNA", "whereisMUNA"),
    ],
)
def test_handle_name(handle: str, name: str) -> None:
    assert handle_name(handle) == name


@pytest.mark.parametrize(
    ("title", "spelled"),
    [
        ("Silent Night (Hip Hop Mix)", "Silent Night - Hip Hop Mix"),
        ("C'Mon Everybody (Remastered 2012)", "C'Mon Everybody - Remastered 2012"),
        ("Deep Blue Day (2005 Digital Remaster)", "Deep Blue Day - 2005 Digital Remaster"),
        ("Frozen [Radio Edit]", "Frozen - Radio Edit"),
        ("Crawl Back (Live From Honolulu)", "Crawl Back - Live From Honolulu"),
        ("Heat Waves (Slowed + Reverb)", "Heat Waves - Slowed + Reverb"),
        ("夜に駆ける (Acoustic)", "夜に駆ける - Acoustic"),
        ("Change (with Kehlani)", "Change (with Kehlani)"),
        ("Money Hit da Floor (ft. Supercoolwicked)", "Money Hit da Floor (ft. Supercoolwicked)"),
        ("Love Story (Taylor's Version)", "Love Story (Taylor's Version)"),
        ("Its Rainin Game (In Northern California)", "Its Rainin Game (In Northern California)"),
    ],
)
def test_spotify_version_spelling(title: str, spelled: str) -> None:
    assert spotify_version(title) == spelled


@pytest.mark.parametrize(
    ("text", "artist", "title", "rule"),
    [
        # a person's name on the right, none on the left: the title came first
        ("Praise — Marvin Gaye https://t.co/x", "Marvin Gaye", "Praise", "dash_title_first_name"),
        ("Zacazonapan - Antonio Zamora", "Antonio Zamora", "Zacazonapan", "dash_title_first_name"),
        ("#NowPlaying Boogie Chillen - John Lee Hooker", "John Lee Hooker", "Boogie Chillen", "dash_title_first_name"),
        # names on both sides, or a song named after a person: artist first stays the default
        ("Michael Jackson - Billie Jean", "Michael Jackson", "Billie Jean", "dash"),
        ("Chuck Berry - Johnny B. Goode", "Chuck Berry", "Johnny B. Goode", "dash"),
        ("Weezer - Buddy Holly", "Weezer", "Buddy Holly", "dash"),
        ("Kiss - Beth", "Kiss", "Beth", "dash"),
        # a shouted title is not a name
        ("Daft Punk - JOHN WICK", "Daft Punk", "JOHN WICK", "dash"),
        ("Mandy Moore - Candy", "Mandy Moore", "Candy", "dash"),
    ],
)
def test_given_name_decides_the_order(text: str, artist: str, title: str, rule: str) -> None:
    parsed = clean_post(make_post(text))
    assert (parsed.artist, parsed.title, parsed.rule) == (artist, title, rule)


@pytest.mark.parametrize(
    ("text", "artist", "title"),
    [
        # guests tagged by handle inside the title's guest bracket are named, and the post is a song
        ("Future - Life Is Good (feat. @Drake) #NowPlaying", "Future", "Life Is Good (feat. Drake)"),
        ("#NowPlaying @Future - Life Is Good (with @Drake & @LilBabyMusic)", "Future",
         "Life Is Good (with Drake & LilBaby)"),
        # "vibing to", "jamming to" frame the song like "listening to"
        ("Currently vibing to Blinding Lights by The Weeknd 🔥🔥 #NowPlaying", "The Weeknd", "Blinding Lights"),
        ("Just jamming to Africa by Toto", "Toto", "Africa"),
        ("Dancing to Dancing Queen by ABBA", "ABBA", "Dancing Queen"),
        # a comment after the title is not the title; a title's own "!... I Did It Again" is
        ("#NowPlaying Outkast - Hey Ya! I love this track so much, takes me back to high school", "Outkast", "Hey Ya!"),
        ("#NowPlaying Queen - Bohemian Rhapsody. what a song, honestly the best one ever", "Queen",
         "Bohemian Rhapsody"),
        ("#NowPlaying Britney Spears - Oops!... I Did It Again", "Britney Spears", "Oops!... I Did It Again"),
    ],
)  # fmt: skip
def test_framing_guests_and_comments(text: str, artist: str, title: str) -> None:
    parsed = clean_post(make_post(text))
    assert (parsed.kind, parsed.artist, parsed.title) == ("parsed", artist, title)


@pytest.mark.parametrize(
    ("text", "artist", "title"),
    [
        ("(Now Playing) Fleetwood Mac - Dreams", "Fleetwood Mac", "Dreams"),
        ("【Now Playing】 米津玄師 - Lemon", "米津玄師", "Lemon"),
        ("[ON AIR] Fleetwood Mac - Dreams", "Fleetwood Mac", "Dreams"),
        ("np Fleetwood Mac – Dreams", "Fleetwood Mac", "Dreams"),
        ("[Fleetwood Mac] Dreams", "Fleetwood Mac", "Dreams"),  # a bracket that holds a name still names the artist
    ],
)
def test_now_playing_markers_are_not_names(text: str, artist: str, title: str) -> None:
    parsed = clean_post(make_post(text))
    assert (parsed.kind, parsed.artist, parsed.title) == ("parsed", artist, title)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("Good morning everyone! #nowplaying", "none_chatter"),
        ("Happy Friday y'all #NowPlaying", "none_chatter"),
        ("#NowPlaying Zelda: Tears of the Kingdom", "none_game"),
        ("Now playing: Elden Ring", "none_game"),
        ("#NowPlaying Call of Duty: Modern Warfare II", "none_game"),
    ],
)
def test_greetings_and_games_are_not_songs(text: str, rule: str) -> None:
    parsed = clean_post(make_post(text))
    assert (parsed.kind, parsed.rule) == ("none", rule)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("#NowPlaying Hello", "query"),  # a greeting alone is a title
        ("#NowPlaying Hey Jude", "query"),
        ("#NowPlaying Koji Kondo - Zelda's Lullaby", "parsed"),  # game music is music
        ("Good Morning by Kanye West", "parsed"),
    ],
)
def test_song_titles_that_look_like_greetings_or_games_stay_songs(text: str, kind: str) -> None:
    assert clean_post(make_post(text)).kind == kind


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("can't sleep again... #NowPlaying", "none"),
        ("今日の作業用BGM何にしよう #nowplaying", "none"),
        ("この曲ほんとに最高です #nowplaying", "none"),
        ("#NowPlaying Wake Me Up When September Ends...", "query"),  # a capitalised title trailing off
        ("#NowPlaying ocean eyes...", "query"),
        ("#NowPlaying 夜に駆ける", "query"),
    ],
)
def test_sentence_endings_are_chatter(text: str, kind: str) -> None:
    assert clean_post(make_post(text)).kind == kind


@pytest.mark.parametrize(
    ("text", "artist", "title"),
    [
        ("Ich höre gerade Atemlos durch die Nacht von Helene Fischer", "Helene Fischer", "Atemlos durch die Nacht"),
        ("Ich höre gerade Rammstein - Sonne", "Rammstein", "Sonne"),
        ("Lagi dengerin Tulus - Hati-Hati di Jalan", "Tulus", "Hati-Hati di Jalan"),
    ],
)
def test_more_listening_frames(text: str, artist: str, title: str) -> None:
    parsed = clean_post(make_post(text))
    assert (parsed.kind, parsed.artist, parsed.title) == ("parsed", artist, title)


@pytest.mark.parametrize(
    ("text", "artist", "title"),
    [
        ("I’m listening to TSUKI by 安室奈美恵 http://t.co/4FynHJmArM via @lastfm | what an amazing vocal by namie.",
         "安室奈美恵", "TSUKI"),
        ("I’m listening to Stand By Me by Ben E. King http://t.co/x via @lastfm", "Ben E. King", "Stand By Me"),
    ],
)  # fmt: skip
def test_lastfm_comment_after_the_template_is_not_the_song(text: str, artist: str, title: str) -> None:
    parsed = clean_post(make_post(text))
    assert (parsed.artist, parsed.title, parsed.rule) == (artist, title, "template_lastfm")


def test_a_repeated_text_gets_the_same_answer_and_its_own_bot_flag() -> None:
    text = "#NowPlaying Daft Punk - Get Lucky (Radio Edit)"
    person = make_post(text, post_id="1", raw={"source": "Twitter for iPhone"})
    station = make_post(text, post_id="2", raw={"source": "SAM Broadcaster"})
    first, again, fresh = clean_post(person), clean_post(person), clean_post(person, cache=False)
    assert first == again == fresh
    assert (first.artist, first.title, first.is_bot) == ("Daft Punk", "Get Lucky - Radio Edit", False)
    # the text's decision is shared, the account's is not
    relayed = clean_post(station)
    assert (relayed.post_id, relayed.artist, relayed.title, relayed.is_bot) == (
        "2",
        "Daft Punk",
        "Get Lucky - Radio Edit",
        True,
    )


@pytest.mark.parametrize(
    ("text", "artist", "title"),
    [
        ("Now playing Adele - Hello on @BBCRadio2", "Adele", "Hello"),
        ("Now playing Adele - Hello live on @KEXP #radio", "Adele", "Hello"),
        ("Adele - Hold On @adele", "Adele", "Hold On"),  # a capitalised "On" is the title's
        ("Adele - Hold on #nowplaying", "Adele", "Hold on"),  # no mention followed it
    ],
)
def test_where_it_plays_is_not_the_title(text: str, artist: str, title: str) -> None:
    parsed = clean_post(make_post(text))
    assert (parsed.artist, parsed.title) == (artist, title)


def test_a_hashtag_title_before_on_spotify_stays_the_query() -> None:
    parsed = clean_post(make_post("Check out #Violence on @Spotify https://t.co/ve38dvAE9Q"))
    assert (parsed.kind, parsed.query) == ("query", "Violence")


@pytest.mark.parametrize(
    ("text", "artist", "title"),
    [
        ("#NowPlaying Four Tet – Baby (from 'Sixteen Oceans')", "Four Tet", "Baby (from 'Sixteen Oceans')"),
        ('Idina Menzel - Let It Go (From "Frozen")', "Idina Menzel", 'Let It Go (From "Frozen")'),
    ],
)
def test_quotes_in_a_closing_bracket_do_not_name_the_song(text: str, artist: str, title: str) -> None:
    parsed = clean_post(make_post(text))
    assert (parsed.artist, parsed.title, parsed.rule) == (artist, title, "dash")
