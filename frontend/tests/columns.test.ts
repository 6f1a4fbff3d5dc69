import { describe, expect, it } from "vitest";
import type { Play } from "../src/lib/api";
import { defaultVisibility, PLAY_COLUMNS, parseVisibility, setVisible } from "../src/lib/columns";

const play: Play = {
  source: "mastodon",
  post_id: "1",
  played_at: "2026-03-01T10:00:00.000Z",
  author_id: "a",
  text: "#NowPlaying Queen - Bohemian Rhapsody <script>alert(1)</script>",
  url: null,
  is_bot: false,
  matched: true,
  track_id: "4uLU6hMCjMI75M1A2tKUQC",
  track_name: "Bohemian Rhapsody",
  artist_names: ["Queen"],
  album: "A Night at the Opera",
  release_date: "1975-11-21",
  popularity: 80,
  duration_ms: 354947,
  match_method: "parsed",
  match_confidence: 0.97,
  features_source: "reccobeats",
  danceability: 0.392,
  energy: 0.402,
  key: 0,
  loudness: -9.961,
  speechiness: 0.0536,
  acousticness: 0.288,
  instrumentalness: 0,
  liveness: 0.243,
  valence: 0.228,
  tempo: 143.883,
  time_signature: 4,
  mode: 0,
};

describe("play columns", () => {
  it("render a matched play as text, post text unchanged", () => {
    const text = Object.fromEntries(PLAY_COLUMNS.map((c) => [c.id, c.text(play)]));
    expect(text).toMatchObject({
      played_at: "2026-03-01 10:00 UTC",
      text: play.text,
      track_name: "Bohemian Rhapsody",
      artist_names: "Queen",
      match: "parsed · 97 %",
      duration_ms: "5:55",
      key: "C minor",
      tempo: "144 BPM",
    });
  });

  it("say so for an unmatched play", () => {
    const unmatched = { ...play, matched: false, track_id: null, track_name: null, artist_names: [] };
    const text = Object.fromEntries(PLAY_COLUMNS.map((c) => [c.id, c.text(unmatched)]));
    expect(text.track_name).toBe("Not matched");
    expect(text.match).toBe("no match");
  });
});

describe("column chooser", () => {
  it("remembers choices, ignoring unknown columns and junk", () => {
    const v = parseVisibility(JSON.stringify({ energy: false, album: true, bogus: true, text: "yes" }));
    expect(v.energy).toBe(false);
    expect(v.album).toBe(true);
    expect("bogus" in v).toBe(false);
    expect(v.text).toBe(true);
    expect(parseVisibility("{not json")).toEqual(defaultVisibility());
    expect(parseVisibility("[1,2]")).toEqual(defaultVisibility());
  });

  it("never hides every column", () => {
    const allHidden = Object.fromEntries(PLAY_COLUMNS.map((c) => [c.id, false]));
    expect(parseVisibility(JSON.stringify(allHidden))).toEqual(defaultVisibility());
    const onlyOne = { ...allHidden, text: true };
    expect(setVisible(onlyOne, "text", false)).toBe(onlyOne);
    expect(setVisible(onlyOne, "album", true).album).toBe(true);
  });
});
