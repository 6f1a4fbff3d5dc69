"""The sandbox's music: invented songs and a fake Spotify catalog with hard distractors.

``Catalog(seed)`` is deterministic per seed. It holds

* ``songs``: the song facts the corpus talks about (artist, title, language). Most songs are in the
  Spotify catalog (``song.track_id`` is the original recording); some are not (``track_id is None``),
  like the obscure or unreleased songs people really post about.
* ``tracks``: Spotify-like tracks: every original, plus hard distractors that compete in search:
  the same title by other artists (covers by tribute/karaoke acts and plain title collisions),
  ``Title - Remix``, ``Title - Live``, ``Title (Acoustic)``, ``Title - Sped Up``, karaoke versions
  "originally performed by" the artist, and a few trap tracks named like things that are not songs
  ("RT", "Now Playing", "Intro", the names of the corpus' TV shows and games).
* audio features for every track (Spotify's shape) and for most tracks on ReccoBeats.

``Catalog.search_tracks(q)`` is a real search over the catalog with Spotify's field filters.

``get_catalog(seed, extra)`` adds the tracks of a JSON Lines file of Spotify track objects
(``SANDBOX_CATALOG``: real names, one Web API TrackObject per line) to the generated catalog; search
finds them like generated ones. A malformed line is skipped and reported as ``path:line: reason``
in ``Catalog.extra_errors``; the rest loads.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
SPOTIFY_ID_RE = re.compile(r"^[0-9A-Za-z]{22}$")
MARKETS = ("US", "GB", "DE", "ES", "FR", "BR", "MX", "JP", "KR", "SE", "IT", "AR")


def base62(value: int, width: int = 22) -> str:
    chars = []
    for _ in range(width):
        value, rem = divmod(value, 62)
        chars.append(BASE62[rem])
    return "".join(reversed(chars))


def fold(text: str) -> str:
    """Case- and diacritics-insensitive form used by the search index."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_TOKEN_RE = re.compile(r"\w+")


def tokens(text: str) -> list[str]:
    return _TOKEN_RE.findall(fold(text))


# --------------------------------------------------------------------------------------------
# Song facts: invented names in several languages and scripts.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scene:
    lang: str
    weight: float
    artists: tuple[str, ...]
    title_patterns: tuple[str, ...]
    words: dict[str, tuple[str, ...]]
    first_names: tuple[str, ...] = ()
    last_names: tuple[str, ...] = ()
    name_format: str = "{first} {last}"


_EN_WORDS = {
    "adj": (
        "Neon",
        "Golden",
        "Broken",
        "Silver",
        "Midnight",
        "Electric",
        "Paper",
        "Velvet",
        "Wild",
        "Quiet",
        "Burning",
        "Frozen",
        "Hollow",
        "Crystal",
        "Lonely",
        "Summer",
        "Violet",
        "Restless",
        "Secret",
        "Faded",
        "Bright",
        "Last",
        "Sweet",
        "Cold",
        "Little",
        "Endless",
        "Northern",
        "Crimson",
        "Lucky",
    ),
    "noun": (
        "Hearts",
        "Skyline",
        "Letters",
        "River",
        "Harbor",
        "Satellites",
        "Mirrors",
        "Highway",
        "Fever",
        "Garden",
        "Thunder",
        "Echoes",
        "Lights",
        "Ocean",
        "Shadows",
        "Promises",
        "Window",
        "Heartbeat",
        "Daydream",
        "Horizon",
        "Parade",
        "Static",
        "Motel",
        "Paradise",
        "Circles",
        "Season",
        "Rain",
        "Wires",
        "Stranger",
        "Kingdom",
        "Smoke",
        "Salt",
        "Gravity",
        "Diamonds",
    ),
    "verb": ("Hold", "Call", "Save", "Take", "Wake", "Love", "Find", "Leave", "Kiss", "Tell", "Drive", "Show"),
    "adv": ("Closer", "Tonight", "Again", "Slowly", "Home", "Back", "Down", "Under", "Higher", "Now"),
    "name": ("Maria", "Jolene", "Carolina", "Daniel", "Rosie", "Amelia", "Sam", "Ruby", "Leo", "Nina"),
}
_EN_ARTISTS = (
    "Luna Vale",
    "The Velvet Owls",
    "Marcus Reed",
    "NOVA",
    "Kairo",
    "Juno Reign",
    "The Paper Kites Club",
    "Sadie Mercer",
    "Echo Harbor",
    "M.I.R.A.",
    "DJ Solace",
    "Lil Tempo",
    "Jamie & The Wires",
    "808 Skyline",
    "Harper Quinn",
    "The Midnight Drive",
    "Owen Blackwood",
    "Sky Ferreira-Lane",
    "Violet Hours",
    "Tessa Monroe",
    "Big Lake Radio Club",
    "Cassidy Rae",
    "The Northern Lights Band",
    "Zane Carter",
    "Mary-Kate Oduya",
    "Coastal Static",
    "Ivy & Ash",
    "Theo Banks",
    "Golden Hour Society",
    "AC/VOLT",
    "Riley Shore",
    "Brooke Ellison",
    "The Lumen",
    "Kid Comet",
    "Ava Lindqvist",
    "Sunday Drivers",
    "Noah James Holt",
    "Pale Orchid",
    "Ezra Lowe",
    "Dani Kestrel",
    "The Cold Fronts",
    "Rex Orange Grove",
    "Stella Maris",
    "Glasshouse Kids",
    "Jasper Wolfe",
    "Keira Nash",
    "Second Avenue",
    "Millie Park",
)
_EN_PATTERNS = (
    "{adj} {noun}",
    "{adj} {noun}",
    "{noun}",
    "{verb} Me {adv}",
    "Don't {verb} Me {adv}",
    "{noun} in the {noun}",
    "Song for {name}",
    "Stand By the {noun}",
    "'Til the {noun} Ends",
    "{noun} & {noun}",
    "(I Just) {verb} You",
    "{adj} {noun}, Pt. 2",
    "{verb} It Like {name}",
    "Love Me Like {adj} {noun}",
    "All the {adj} {noun}",
)

_EN_FIRST = (
    "Ella",
    "Mason",
    "Chloe",
    "Tyler",
    "Grace",
    "Logan",
    "Hazel",
    "Caleb",
    "Aria",
    "Finn",
    "Maya",
    "Jude",
    "Lila",
    "Miles",
    "Quinn",
    "Wren",
    "Dylan",
    "Iris",
    "Rowan",
    "Sienna",
    "Felix",
    "Nora",
    "Jesse",
    "Cleo",
)
_EN_LAST = (
    "Hart",
    "Lowell",
    "Sutton",
    "Vance",
    "Mercer",
    "Keane",
    "Ashby",
    "Holloway",
    "Fairchild",
    "Rowe",
    "Calloway",
    "Winter",
    "Bishop",
    "Delaney",
    "Frost",
    "Whitaker",
    "O'Connell",
    "McAllister",
    "Rivers",
)

SCENES: tuple[Scene, ...] = (
    Scene("en", 0.50, _EN_ARTISTS, _EN_PATTERNS, _EN_WORDS, _EN_FIRST, _EN_LAST),
    Scene(
        "es",
        0.12,
        (
            "Lucía Márquez",
            "Los Faros del Sur",
            "Nacho Peña",
            "Valentina Ruíz",
            "La Sonora Dorada",
            "Mateo Ibáñez",
            "Camila Ávila",
            "Dúo Tormenta",
            "Bad Lunares",
            "Sofía Cañete",
            "El Niño Cometa",
        ),
        (
            "{noun} de {noun}",
            "Noche de {noun}",
            "Mi {noun}",
            "{noun} {adj}",
            "Bailando en la {noun}",
            "Sin {noun}",
            "Te Quiero {adv}",
            "Corazón {adj}",
            "Canción para {name}",
        ),
        {
            "noun": (
                "Arena",
                "Fuego",
                "Luna",
                "Cristal",
                "Verano",
                "Ciudad",
                "Madrugada",
                "Mar",
                "Lluvia",
                "Estrella",
                "Playa",
                "Tequila",
                "Medianoche",
                "Sal",
            ),
            "adj": ("Rota", "Dorada", "Salvaje", "Perdida", "Eterna", "Bonita", "Fría", "Azul"),
            "adv": ("Así", "Más", "Todavía", "Mañana", "Despacito"),
            "name": ("Ramón", "Inés", "Lola", "Martín", "Begoña"),
        },
        ("Álvaro", "Inés", "Joaquín", "Ximena", "Rocío", "Iñaki", "Renata", "Tomás", "Paloma", "Nicolás"),
        ("Núñez", "Fernández", "Obregón", "Salazar", "Muñoz", "Del Río", "Quintero", "Bermúdez", "Ortega"),
    ),
    Scene(
        "pt",
        0.06,
        (
            "João Batista Lins",
            "Marília Conceição",
            "Banda São Jorge",
            "Tiago Araújo",
            "Anitta Rocha",
            "Os Sertões",
            "Luísa Sonza Brandão",
        ),
        ("Saudade do {noun}", "{noun} de {noun}", "Meu {noun}", "Volta pra {noun}", "{noun} {adj}"),
        {
            "noun": ("Mar", "Sol", "Coração", "Cidade", "Verão", "Estrada", "Lua", "Janela", "Sertão", "Amor"),
            "adj": ("Azul", "Dourado", "Perdido", "Bonito", "Maluco"),
        },
        ("Conceição", "Thiago", "Gonçalo", "Lívia", "Caetano", "Iara", "Vinícius", "Mônica"),
        ("Magalhães", "Guimarães", "Assunção", "Peixoto", "Falcão", "Brandão", "Simões"),
    ),
    Scene(
        "fr",
        0.05,
        ("Éloïse Marchand", "Les Écumes", "Théo Lefèvre", "Zoé & Les Étoiles", "Gaspard Noël", "Ça Ira Club"),
        ("La {noun} d'{noun2}", "{noun} {adj}", "Ça {verb}", "Mon {noun}", "Sous la {noun}"),
        {
            "noun": ("Nuit", "Mer", "Ville", "Lumière", "Saison", "Pluie", "Danse", "Plage"),
            "noun2": ("Été", "Automne", "Hiver", "Avril", "Amour"),
            "adj": ("Dorée", "Perdue", "Éternelle", "Bleue", "Sauvage"),
            "verb": ("Ira", "Danse", "Brûle", "Passe", "Tourne"),
        },
        ("Anaïs", "Jérôme", "Clémence", "Benoît", "Maëlle", "Gaëtan", "Hélène", "Loïc"),
        ("Lefèbvre", "Bérenger", "Dufresne", "Rousseau", "Chevalier", "Garnier", "Morel"),
    ),
    Scene(
        "de",
        0.04,
        ("Jonas Krüger", "Die Großen Wellen", "Lena Weiß", "Straßenkinder", "Mia Köhler", "Ölfarben"),
        ("{adj} {noun}", "Über den {noun}", "{noun} in der {noun}", "Nie Mehr {noun}"),
        {
            "adj": ("Müde", "Kalte", "Goldene", "Große", "Leise", "Grüne"),
            "noun": ("Sommer", "Straße", "Nacht", "Stadt", "Herz", "Regen", "Himmel", "Wälder", "Brücke"),
        },
        ("Jürgen", "Sönke", "Käthe", "Lukas", "Greta", "Matthias", "Anouk"),
        ("Müller", "Schäfer", "Großmann", "Böhm", "Hoffmann", "Weißbach"),
    ),
    Scene(
        "ja",
        0.07,
        ("青木ミナ", "ヨルノカゼ", "SORA", "月見バンド", "Hikari Ono", "星野ユウ", "藤原シオン", "YOASOBU"),
        ("{noun}の{noun}", "夜明けの{noun}", "{noun}", "さよなら{noun}", "{noun}と{noun}", "{noun}に{noun}"),
        {
            "noun": (
                "街",
                "夢",
                "花火",
                "夏",
                "雨",
                "星",
                "海",
                "風",
                "光",
                "約束",
                "青空",
                "桜",
                "月",
                "鼓動",
                "群青",
                "ラブレター",
                "サイダー",
                "東京",
                "流星",
            )
        },
        ("佐藤", "高橋", "中村", "小林", "山田", "松本", "井上"),
        ("ハル", "アオイ", "レン", "美咲", "陽菜", "翔", "ユキ"),
        "{first}{last}",
    ),
    Scene(
        "ko",
        0.07,
        ("한서윤", "BLUE MOMENT", "별하", "문도현", "N.I.X", "소녀시계", "IVE SEVEN"),
        ("{noun}의 {noun}", "너의 {noun}", "{noun}", "안녕, {noun}", "{noun} 속으로", "{noun}이 내리면"),
        {
            "noun": (
                "밤",
                "별",
                "꿈",
                "바다",
                "봄",
                "노래",
                "하늘",
                "사랑",
                "비",
                "불꽃",
                "시간",
                "여름",
                "첫눈",
                "우주",
                "편지",
            )
        },
        ("김", "이", "박", "최", "정", "강", "윤"),
        ("하늘", "지우", "민서", "서준", "예린", "도윤", "수아"),
        "{first}{last}",
    ),
    Scene(
        "ru",
        0.04,
        ("Анна Волкова", "Группа Полёт", "Мирон Соколов", "Ёлка и Ветер", "Кино Сегодня", "Дарья Лис"),
        ("{phrase}", "{noun} и {noun}", "Там, где {noun}", "{phrase} над городом"),
        {
            "phrase": (
                "Белые ночи",
                "Тихий город",
                "Последний поезд",
                "Летний дождь",
                "Синее море",
                "Ночной ветер",
                "Звёздное небо",
                "Холодное сердце",
            ),
            "noun": ("ветер", "город", "небо", "звёзды", "море", "сердце", "поезд", "дождь", "ночь"),
        },
        ("Алексей", "Мария", "Сергей", "Ксения", "Пётр", "Юлия", "Фёдор"),
        ("Орлов", "Смирнова", "Ковалёв", "Белова", "Жуков", "Зайцева"),
    ),
    Scene(
        "ar",
        0.03,
        ("ليلى حداد", "فرقة الريح", "Omar Nasser", "نور الهدى", "Rami Khalil"),
        ("ليل {noun}", "{noun}", "يا {noun}", "حبيبي {noun}", "{noun} و{noun}"),
        {"noun": ("المدينة", "البحر", "القمر", "الحب", "الصحراء", "النجوم", "بيروت", "الشتاء", "الورد")},
        ("سارة", "يوسف", "مريم", "كريم", "هالة", "طارق"),
        ("منصور", "الخطيب", "عيسى", "سليمان", "الأحمد"),
    ),
    Scene(
        "it",
        0.02,
        ("Giulia Bellini", "I Girasoli", "Marco Dellavalle", "Nina Zilli Rossi"),
        ("Notte di {noun}", "{noun} {adj}", "Ciao {noun}", "Sotto le {noun2}"),
        {
            "noun": ("Estate", "Mare", "Cuore", "Città", "Luna", "Roma"),
            "noun2": ("Stelle", "Nuvole", "Luci"),
            "adj": ("D'Oro", "Perduta", "Blu", "Infinita"),
        },
        ("Niccolò", "Chiara", "Lorenzo", "Francesca", "Matteo"),
        ("Bianchi", "Ferri", "De Luca", "Ricci", "Esposito"),
    ),
)

# Acts that record other people's songs: the distractors people's searches run into.
TRIBUTE_ARTISTS = (
    "The Tribute Collective",
    "Karaoke Hits Factory",
    "Piano Lullaby Crew",
    "Acoustic Cover Club",
    "Sing2Music Karaoke",
    "Vitamin Strings Ensemble",
    "Lounge Versions Inc.",
    "8-Bit Arcade Heroes",
)
KARAOKE_ARTISTS = ("Karaoke Hits Factory", "Sing2Music Karaoke")

# Tracks named like things that are not songs: the seed's "RT" -> "Intro" by RTB MB problem.
TRAP_TRACKS = (
    ("Intro", "RTB MB"),
    ("RT", "Rey Tarrant"),
    ("Now Playing", "Lofi Study Hall"),
    ("Radio", "Static Lovers"),
    ("Live", "The Open Mics"),
    ("Remix", "DJ Remix"),
    ("Netflix & Chill", "Lil Tempo"),
    ("Game Over", "8-Bit Arcade Heroes"),
    ("Podcast", "Talk Radio Kids"),
    ("Season 2", "The Sequels"),
    ("Harbor Lights", "The Velvet Owls"),
    ("Starfall Odyssey", "Synth Quest"),
    ("Episode 12", "Anime Beats"),
    ("Radio Sunshine", "Beach House Cats"),
    ("Good Morning", "Sunday Drivers"),
    ("Listening", "Pale Orchid"),
)


@dataclass(slots=True)
class Song:
    """A song the corpus talks about. ``track_id`` is its original recording, None if not in the catalog."""

    index: int
    artist: str
    title: str
    lang: str
    featured: str | None
    track_id: str | None
    variant_ids: dict[str, str] = field(default_factory=dict)  # variant label -> track id


@dataclass(slots=True)
class Artist:
    id: str
    name: str
    genres: tuple[str, ...]
    popularity: int
    followers: int


@dataclass(slots=True)
class Album:
    id: str
    name: str
    album_type: str
    release_date: str
    total_tracks: int
    artist_ids: tuple[str, ...]


@dataclass(slots=True)
class Track:
    id: str
    name: str
    artist_ids: tuple[str, ...]
    album: Album
    duration_ms: int
    popularity: int
    explicit: bool
    track_number: int
    isrc: str
    song_index: int | None  # the Song this recording is of (None for trap tracks)
    variant: str  # "original", "remix", "live", "acoustic", "sped_up", "karaoke", "cover", "collision", "trap"
    features: dict[str, Any]
    reccobeats_id: str | None  # None: ReccoBeats does not know this track


GENRES = {
    "en": ("pop", "indie rock", "dance pop", "alt z", "modern rock", "hip hop"),
    "es": ("latin pop", "reggaeton", "urbano latino"),
    "pt": ("mpb", "sertanejo", "funk carioca"),
    "fr": ("chanson", "french pop"),
    "de": ("deutschpop", "german indie"),
    "ja": ("j-pop", "anime", "j-rock"),
    "ko": ("k-pop", "k-indie"),
    "ru": ("russian pop", "russian indie"),
    "ar": ("arab pop", "khaleeji"),
    "it": ("italian pop", "cantautori"),
}


class Catalog:
    """The fake Spotify catalog for one seed (see the module docstring)."""

    def __init__(self, seed: int = 42, n_songs: int = 3000, not_in_catalog_share: float = 0.08) -> None:
        self.seed = seed
        rng = random.Random(f"nowplaying-catalog:{seed}")
        self._rng = rng
        self.songs: list[Song] = []
        self.tracks: dict[str, Track] = {}
        self.artists: dict[str, Artist] = {}
        self._artist_by_name: dict[str, Artist] = {}
        self._track_list: list[Track] = []
        self.extra_tracks = 0  # tracks added from a SANDBOX_CATALOG file
        self.extra_errors: list[str] = []  # its malformed lines, as 'path:line: reason'
        self._build_songs(n_songs, not_in_catalog_share)
        self._build_traps()
        self._build_index()

    # --- construction -------------------------------------------------------------------
    def _new_id(self) -> str:
        return base62(self._rng.getrandbits(131))

    def _artist(self, name: str, lang: str) -> Artist:
        found = self._artist_by_name.get(name)
        if found is not None:
            return found
        rng = self._rng
        genres = tuple(rng.sample(GENRES.get(lang, GENRES["en"]), k=min(2, len(GENRES.get(lang, GENRES["en"])))))
        artist = Artist(
            id=self._new_id(),
            name=name,
            genres=genres if rng.random() < 0.7 else (),
            popularity=rng.randint(15, 90),
            followers=int(rng.paretovariate(1.2) * 5000),
        )
        self.artists[artist.id] = artist
        self._artist_by_name[name] = artist
        return artist

    def _features(
        self, variant: str, base: dict[str, Any] | None, duration_ms: int, rng: random.Random | None = None
    ) -> dict[str, Any]:
        rng = rng or self._rng
        if base is None:
            feats: dict[str, Any] = {
                "danceability": round(rng.betavariate(5, 3), 3),
                "energy": round(rng.betavariate(4, 3), 3),
                "key": rng.randint(-1, 11) if rng.random() < 0.03 else rng.randint(0, 11),
                "loudness": round(-rng.gammavariate(2.2, 3.0) - 1.5, 3),
                "mode": 1 if rng.random() < 0.62 else 0,
                "speechiness": round(rng.betavariate(1.2, 14), 4),
                "acousticness": round(rng.betavariate(0.8, 2.5), 4),
                "instrumentalness": round(rng.betavariate(0.3, 8) if rng.random() < 0.3 else 0.0, 6),
                "liveness": round(rng.betavariate(1.5, 8), 4),
                "valence": round(rng.betavariate(2.5, 2.5), 3),
                "tempo": round(rng.uniform(68, 178), 3),
                "time_signature": 4 if rng.random() < 0.9 else rng.choice((3, 5)),
            }
        else:
            feats = dict(base)
            jitter = {k: feats[k] for k in ("danceability", "energy", "valence")}
            for key, value in jitter.items():
                feats[key] = round(min(1.0, max(0.0, value + rng.uniform(-0.08, 0.08))), 3)
            if variant == "live":
                feats["liveness"] = round(rng.uniform(0.65, 0.98), 4)
            elif variant in ("karaoke", "cover_piano"):
                feats["instrumentalness"] = round(rng.uniform(0.6, 0.95), 6)
                feats["speechiness"] = round(rng.uniform(0.02, 0.05), 4)
            elif variant == "acoustic":
                feats["acousticness"] = round(rng.uniform(0.7, 0.99), 4)
                feats["energy"] = round(feats["energy"] * 0.6, 3)
            elif variant == "sped_up":
                feats["tempo"] = round(feats["tempo"] * 1.25, 3)
            elif variant == "remix":
                feats["danceability"] = round(min(1.0, feats["danceability"] + 0.12), 3)
                feats["tempo"] = round(rng.uniform(118, 128), 3)
        feats["duration_ms"] = duration_ms
        return feats

    def _add_track(
        self,
        name: str,
        artists: list[Artist],
        lang: str,
        song_index: int | None,
        variant: str,
        popularity: int,
        base_features: dict[str, Any] | None,
        album_name: str | None = None,
    ) -> Track:
        rng = self._rng
        year = rng.randint(1968, 2026) if rng.random() < 0.2 else rng.randint(2008, 2026)
        album_type = "single" if rng.random() < 0.45 else ("compilation" if variant == "cover" else "album")
        album = Album(
            id=self._new_id(),
            name=album_name or (name if album_type == "single" else self._album_name(name, lang)),
            album_type=album_type,
            release_date=f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            total_tracks=1 if album_type == "single" else rng.randint(6, 16),
            artist_ids=tuple(a.id for a in artists[:1]),
        )
        duration = int(rng.gauss(212_000, 38_000))
        duration = max(95_000, min(duration, 420_000))
        if base_features is not None and variant == "sped_up":
            duration = int(base_features["duration_ms"] / 1.25)
        track = Track(
            id=self._new_id(),
            name=name,
            artist_ids=tuple(a.id for a in artists),
            album=album,
            duration_ms=duration,
            popularity=max(0, min(100, popularity)),
            explicit=rng.random() < 0.18,
            track_number=1 if album.total_tracks == 1 else rng.randint(1, album.total_tracks),
            isrc=f"{rng.choice(('US', 'GB', 'DE', 'ES', 'JP', 'KR', 'BR', 'FR'))}"
            f"{rng.choice(('UM7', 'SM1', 'AT2', 'WB1', 'QZ9'))}{year % 100:02d}{rng.randint(0, 99999):05d}",
            song_index=song_index,
            variant=variant,
            features={},
            reccobeats_id=None,
        )
        track.features = self._features(variant, base_features, track.duration_ms)
        track.reccobeats_id = reccobeats_id_or_none(rng)
        self.tracks[track.id] = track
        self._track_list.append(track)
        return track

    def _album_name(self, title: str, lang: str) -> str:
        rng = self._rng
        choice = rng.random()
        if choice < 0.3:
            return title
        if choice < 0.55:
            return f"{title} (Deluxe Edition)" if lang == "en" else f"{title} (Deluxe)"
        return rng.choice(
            (
                "Nightfall",
                "Second Nature",
                "Blue Hours",
                "Atlas",
                "Postcards",
                "Volume II",
                "Greatest Hits",
                "Origins",
                "After Dark",
                "Homecoming",
            )
        )

    def _artist_pool(self, scene: Scene, size: int) -> list[str]:
        """The scene's artist names: the written ones first, then generated first/last name pairs."""
        rng = self._rng
        pool = list(scene.artists)
        names = {n for n in pool}
        attempts = 0
        while len(pool) < max(size, len(scene.artists)) and attempts < size * 4 and scene.first_names:
            attempts += 1
            name = scene.name_format.format(first=rng.choice(scene.first_names), last=rng.choice(scene.last_names))
            if name not in names:
                names.add(name)
                pool.append(name)
        rng.shuffle(pool)
        return pool

    def _title(self, scene: Scene) -> str:
        rng = self._rng
        pattern = rng.choice(scene.title_patterns)
        out = pattern
        for slot in ("noun2", "noun", "adj", "verb", "adv", "name", "phrase"):
            while "{" + slot + "}" in out:
                out = out.replace("{" + slot + "}", rng.choice(scene.words[slot]), 1)
        return out

    def _build_songs(self, n_songs: int, not_in_catalog_share: float) -> None:
        rng = self._rng
        weights = [s.weight for s in SCENES]
        pools = {scene.lang: self._artist_pool(scene, int(n_songs * scene.weight / 4)) for scene in SCENES}
        seen: set[tuple[str, str]] = set()
        titles_so_far: list[tuple[str, str]] = []  # (title, lang) for collisions
        for _ in range(n_songs):
            scene = rng.choices(SCENES, weights)[0]
            pool = pools[scene.lang]
            artist_name = pool[min(len(pool) - 1, int(len(pool) * rng.random() ** 1.6))]
            if rng.random() < 0.035 and titles_so_far:
                title, lang = rng.choice(titles_so_far)  # a title another artist also recorded
                scene_lang = lang
            else:
                title, scene_lang = self._title(scene), scene.lang
            if (artist_name, title) in seen:
                title = f"{title} II" if rng.random() < 0.5 else f"{title} (Reprise)"
                if (artist_name, title) in seen:
                    continue
            seen.add((artist_name, title))
            titles_so_far.append((title, scene_lang))
            featured = None
            if rng.random() < 0.15:
                featured = rng.choice([a for a in pool[:40] if a != artist_name])
            song = Song(
                index=len(self.songs),
                artist=artist_name,
                title=title,
                lang=scene_lang,
                featured=featured,
                track_id=None,
            )
            self.songs.append(song)
            if rng.random() < not_in_catalog_share:
                continue
            # Popularity follows the song's rank in the corpus (earlier songs are not more popular:
            # the corpus ranks them by its own Zipf order), plus noise.
            popularity = int(rng.triangular(10, 92, 45))
            main = self._artist(artist_name, scene_lang)
            artists = [main] + ([self._artist(featured, scene_lang)] if featured else [])
            original = self._add_track(title, artists, scene_lang, song.index, "original", popularity, None)
            song.track_id = original.id
            self._add_distractors(song, original, artists, scene_lang, popularity)

    def _add_distractors(self, song: Song, original: Track, artists: list[Artist], lang: str, popularity: int) -> None:
        rng = self._rng
        main = artists[0]
        feats = original.features
        options: list[tuple[str, str, list[Artist], int]] = []
        if rng.random() < 0.35:
            options.append(("remix", f"{song.title} - Remix", artists, popularity - rng.randint(-8, 25)))
        if rng.random() < 0.25:
            options.append(("live", f"{song.title} - Live", [main], popularity - rng.randint(5, 30)))
        if rng.random() < 0.15:
            options.append(("acoustic", f"{song.title} (Acoustic)", [main], popularity - rng.randint(0, 25)))
        if rng.random() < 0.2:
            options.append(("sped_up", f"{song.title} - Sped Up", artists, popularity - rng.randint(-10, 20)))
        if rng.random() < 0.3:
            karaoke = self._artist(rng.choice(KARAOKE_ARTISTS), "en")
            name = f"{song.title} (Karaoke Version) [Originally Performed By {main.name}]"
            options.append(("karaoke", name, [karaoke], rng.randint(0, 25)))
        if rng.random() < 0.3:
            cover = self._artist(rng.choice(TRIBUTE_ARTISTS), "en")
            options.append(("cover", song.title, [cover], popularity - rng.randint(5, 45)))
        for variant, name, by, pop in options:
            track = self._add_track(name, by, lang, song.index, variant, pop, feats)
            song.variant_ids[variant] = track.id

    def _build_traps(self) -> None:
        for name, artist_name in TRAP_TRACKS:
            artist = self._artist(artist_name, "en")
            self._add_track(name, [artist], "en", None, "trap", self._rng.randint(20, 70), None)

    def _build_index(self) -> None:
        self._name_index: dict[str, set[int]] = {}
        self._artist_index: dict[str, set[int]] = {}
        self._album_index: dict[str, set[int]] = {}
        self._folded_names: list[str] = []
        self._folded_artists: list[str] = []
        for pos, track in enumerate(self._track_list):
            self._index_track(pos, track)

    def _index_track(self, pos: int, track: Track) -> None:
        name_tokens = tokens(track.name)
        artist_text = " ".join(self.artists[a].name for a in track.artist_ids)
        self._folded_names.append(" ".join(name_tokens))
        self._folded_artists.append(" ".join(tokens(artist_text)))
        for tok in name_tokens:
            self._name_index.setdefault(tok, set()).add(pos)
        for tok in tokens(artist_text):
            self._artist_index.setdefault(tok, set()).add(pos)
        for tok in tokens(track.album.name):
            self._album_index.setdefault(tok, set()).add(pos)

    # --- real tracks from a file (SANDBOX_CATALOG) --------------------------------------
    def add_spotify_track(self, obj: Any) -> Track:
        """Add one Spotify Web API track object; ``ValueError`` naming the field when it is not one."""
        values = spotify_track_fields(obj)
        track_id = values["id"]
        if track_id in self.tracks:
            raise ValueError(f"track id {track_id} is already in the catalog")
        artists = [self._known_artist(artist_id, name) for artist_id, name in values["artists"]]
        album_artists = [self._known_artist(artist_id, name) for artist_id, name in values["album_artists"]]
        rng = random.Random(f"nowplaying-catalog-extra:{track_id}")
        album = Album(
            id=values["album_id"],
            name=values["album_name"],
            album_type=values["album_type"],
            release_date=values["release_date"],
            total_tracks=values["total_tracks"],
            artist_ids=tuple(a.id for a in (album_artists or artists[:1])),
        )
        track = Track(
            id=track_id,
            name=values["name"],
            artist_ids=tuple(a.id for a in artists),
            album=album,
            duration_ms=values["duration_ms"],
            popularity=values["popularity"],
            explicit=values["explicit"],
            track_number=values["track_number"],
            isrc=values["isrc"] or f"ZZ{rng.choice(('UM7', 'SM1', 'AT2'))}{rng.randint(0, 9_999_999):07d}",
            song_index=None,
            variant="extra",
            features={},
            reccobeats_id=None,
        )
        track.features = self._features("original", None, track.duration_ms, rng)
        track.reccobeats_id = reccobeats_id_or_none(rng)
        self.tracks[track.id] = track
        self._track_list.append(track)
        self._index_track(len(self._track_list) - 1, track)
        self.extra_tracks += 1
        return track

    def _known_artist(self, artist_id: str, name: str) -> Artist:
        found = self.artists.get(artist_id)
        if found is not None:
            return found
        rng = random.Random(f"nowplaying-catalog-extra-artist:{artist_id}")
        artist = Artist(artist_id, name, (), rng.randint(15, 90), int(rng.paretovariate(1.2) * 5000))
        self.artists[artist_id] = artist
        return artist

    def load_spotify_tracks(self, path: Path) -> None:
        """Add the track objects of a JSON Lines file; a malformed line is recorded in
        ``extra_errors`` (``path:line: reason``) and skipped, the rest loads."""
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, 1):
                if not raw.strip():
                    continue
                try:
                    obj = json.loads(raw)
                except (ValueError, UnicodeDecodeError) as exc:
                    self.extra_errors.append(f"{path}:{number}: not JSON: {exc}")
                    continue
                try:
                    self.add_spotify_track(obj)
                except ValueError as exc:
                    self.extra_errors.append(f"{path}:{number}: {exc}")

    # --- lookups ------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._track_list)

    @property
    def track_list(self) -> list[Track]:
        return self._track_list

    def track(self, track_id: str) -> Track | None:
        return self.tracks.get(track_id)

    def artist(self, artist_id: str) -> Artist | None:
        return self.artists.get(artist_id)

    def artist_names(self, track: Track) -> list[str]:
        return [self.artists[a].name for a in track.artist_ids]

    def reccobeats_features(self, track_id: str) -> dict[str, Any] | None:
        """ReccoBeats' row for a Spotify id, or None when ReccoBeats does not know the track."""
        track = self.tracks.get(track_id)
        if track is None or track.reccobeats_id is None:
            return None
        feats = track.features
        row: dict[str, Any] = {
            "id": track.reccobeats_id,
            "href": f"https://open.spotify.com/track/{track.id}",
            "isrc": track.isrc,
        }
        for key in (
            "acousticness",
            "danceability",
            "energy",
            "instrumentalness",
            "key",
            "liveness",
            "loudness",
            "mode",
            "speechiness",
            "tempo",
            "valence",
        ):
            row[key] = feats[key]
        return row

    # --- search -------------------------------------------------------------------------
    def search_tracks(self, query: str) -> list[Track]:
        """Tracks matching a Spotify search query, best first.

        Field filters ``track:``, ``artist:``, ``album:`` (quoted or one word), ``year:`` (``2019`` or
        ``2010-2015``) and ``isrc:``; everything else is free text matched against name, artists and
        album. Every token must match (case- and accent-insensitive). Ranking mixes how exactly the
        name and artist match with popularity and a per-query jitter, so the right track is usually,
        but not always, first and its remixes, covers and namesakes compete.
        """
        parsed = parse_search_query(query)
        candidates: set[int] | None = None

        def narrow(found: set[int]) -> None:
            nonlocal candidates
            candidates = set(found) if candidates is None else candidates & found

        for field_name, index in (
            ("track", self._name_index),
            ("artist", self._artist_index),
            ("album", self._album_index),
        ):
            for tok in tokens(parsed.get(field_name, "")):
                narrow(index.get(tok, set()))
                if not candidates:
                    return []
        for tok in tokens(parsed.get("free", "")):
            found = self._name_index.get(tok, set()) | self._artist_index.get(tok, set())
            found = found | self._album_index.get(tok, set())
            narrow(found)
            if not candidates:
                return []
        isrc = parsed.get("isrc")
        if isrc:
            narrow({i for i, t in enumerate(self._track_list) if t.isrc.casefold() == isrc.casefold()})
        if candidates is None:
            return []
        year = parsed.get("year")
        if year:
            low, _, high = year.partition("-")
            try:
                y_low, y_high = int(low), int(high or low)
            except ValueError:
                return []
            candidates = {i for i in candidates if y_low <= _year(self._track_list[i].album.release_date) <= y_high}
        want_name = " ".join(tokens(parsed.get("track", "") or parsed.get("free", "")))
        want_artist = " ".join(tokens(parsed.get("artist", "")))
        qhash = int.from_bytes(hashlib.blake2b(query.encode(), digest_size=4).digest(), "big")

        def score(pos: int) -> float:
            track = self._track_list[pos]
            value = track.popularity * 0.5
            if self._folded_names[pos] == want_name:
                value += 16.0
            elif want_name and self._folded_names[pos].startswith(want_name):
                value += 12.0
            if want_artist and self._folded_artists[pos].startswith(want_artist):
                value += 15.0
            value += ((qhash ^ (pos * 2654435761)) % 1000) / 1000 * 18.0  # per-query jitter
            return value

        return [self._track_list[p] for p in sorted(candidates, key=lambda p: (-score(p), p))]


_FILTER_RE = re.compile(r'(\w+):(?:"([^"]*)"|(\S+))')


def parse_search_query(query: str) -> dict[str, str]:
    """Split a Spotify ``q`` into its field filters and the free text (key ``free``)."""
    out: dict[str, str] = {}

    def take(match: re.Match[str]) -> str:
        name = match.group(1).lower()
        if name not in ("track", "artist", "album", "year", "isrc", "genre", "upc", "tag"):
            return match.group(0)
        value = match.group(2) if match.group(2) is not None else match.group(3)
        out[name] = (out.get(name, "") + " " + value).strip()
        return " "

    rest = _FILTER_RE.sub(take, query)
    out["free"] = rest.replace('"', " ").strip()
    return out


def _year(release_date: str) -> int:
    head = release_date[:4]
    return int(head) if head.isdigit() else 0


_RELEASE_DATE_RE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


def _str(obj: Mapping[str, Any], name: str, where: str = "", *, required: bool = True) -> str:
    value = obj.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise ValueError(f"field '{where}{name}' must be a non-empty string")
    return value


def _int_field(obj: Mapping[str, Any], name: str, default: int, low: int, high: int, where: str = "") -> int:
    value = obj.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"field '{where}{name}' must be an integer from {low} to {high}")
    return value


def _spotify_id(obj: Mapping[str, Any], name: str, where: str = "") -> str:
    value = obj.get(name)
    if not isinstance(value, str) or not SPOTIFY_ID_RE.match(value):
        raise ValueError(f"field '{where}{name}' is not a Spotify id: {str(value)[:40]!r}")
    return value


def _artist_pairs(value: Any, where: str) -> list[tuple[str, str]]:
    if not isinstance(value, list):
        raise ValueError(f"field '{where}' must be a list of artist objects")
    pairs = []
    for index, artist in enumerate(value):
        at = f"{where}[{index}]."
        if not isinstance(artist, Mapping):
            raise ValueError(f"field '{where}[{index}]' must be an artist object")
        pairs.append((_spotify_id(artist, "id", at), _str(artist, "name", at)))
    return pairs


def spotify_track_fields(obj: Any) -> dict[str, Any]:
    """The fields the catalog keeps from a Spotify TrackObject (the Web API's shape); ``ValueError``
    naming the field that is missing or wrong."""
    if not isinstance(obj, Mapping):
        raise ValueError(f"a track must be a JSON object, got {type(obj).__name__}")
    if obj.get("type", "track") != "track":
        raise ValueError(f"field 'type' must be 'track', got {str(obj.get('type'))[:40]!r}")
    artists = _artist_pairs(obj.get("artists"), "artists")
    if not artists:
        raise ValueError("field 'artists' is empty")
    album = obj.get("album")
    if not isinstance(album, Mapping):
        raise ValueError("field 'album' must be an album object")
    release_date = _str(album, "release_date", "album.", required=False)
    if release_date and not _RELEASE_DATE_RE.match(release_date):
        raise ValueError(f"field 'album.release_date' is not YYYY[-MM[-DD]]: {release_date[:40]!r}")
    explicit = obj.get("explicit", False)
    if not isinstance(explicit, bool):
        raise ValueError("field 'explicit' must be a boolean")
    external = obj.get("external_ids") or {}
    if not isinstance(external, Mapping):
        raise ValueError("field 'external_ids' must be an object")
    isrc = external.get("isrc") or ""
    if not isinstance(isrc, str):
        raise ValueError("field 'external_ids.isrc' must be a string")
    return {
        "id": _spotify_id(obj, "id"),
        "name": _str(obj, "name"),
        "artists": artists,
        "album_id": _spotify_id(album, "id", "album."),
        "album_name": _str(album, "name", "album.", required=False),
        "album_type": _str(album, "album_type", "album.", required=False) or "album",
        "release_date": release_date or "1970-01-01",
        "total_tracks": _int_field(album, "total_tracks", 1, 1, 10_000, "album."),
        "album_artists": _artist_pairs(album.get("artists") or [], "album.artists"),
        "duration_ms": _int_field(obj, "duration_ms", 0, 0, 2**31 - 1) or 1,
        "popularity": _int_field(obj, "popularity", 0, 0, 100),
        "explicit": explicit,
        "track_number": _int_field(obj, "track_number", 1, 0, 10_000),
        "isrc": isrc,
    }


def get_catalog(seed: int = 42, extra: str | Path | None = None) -> Catalog:
    """The catalog for a seed, built once per process; ``extra``: a JSON Lines file of Spotify track
    objects added to it (``FileNotFoundError`` when it does not exist)."""
    if not extra:
        return _catalog(seed, None, 0, 0)
    path = Path(extra).expanduser().resolve()
    stat = path.stat()
    return _catalog(seed, str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=4)
def _catalog(seed: int, extra: str | None, mtime_ns: int, size: int) -> Catalog:
    catalog = Catalog(seed)
    if extra is not None:
        catalog.load_spotify_tracks(Path(extra))
    return catalog


def reccobeats_id_or_none(rng: random.Random) -> str | None:
    """A ReccoBeats UUID for most tracks; about 12% have none, as on the real service."""
    if rng.random() >= 0.88:
        return None
    return "%08x-%04x-%04x-%04x-%012x" % (  # noqa: UP031
        rng.getrandbits(32),
        rng.getrandbits(16),
        0x4000 | rng.getrandbits(12),
        0x8000 | rng.getrandbits(14),
        rng.getrandbits(48),
    )
