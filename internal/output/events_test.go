package output

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

func TestEscapeControl(t *testing.T) {
	tests := map[string]string{
		"plain":           "plain",
		"nul\x01x":        `nul\x01x`,
		"a\nb\r\tc":       `a\nb\r\tc`,
		"esc\x1b[31m":     `esc\x1b[31m`,
		"bad\xffutf8":     `bad\xffutf8`,
		"ünïcode ✔":       "ünïcode ✔",
		"\u2028sep\u0085": "\u2028sep\\u0085",
		"":                "",
		"del\x7f":         `del\x7f`,
		"mixed \x00\xc3(": `mixed \x00\xc3(`,
	}
	for in, want := range tests {
		if got := EscapeControl(in); got != want {
			t.Errorf("EscapeControl(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzEscapeControl: the result is valid UTF-8 with no control characters, and text
// without them is unchanged.
func FuzzEscapeControl(f *testing.F) {
	for _, s := range []string{"a\nb", "\xff\xfe", "ok", "\x1b[0m", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := EscapeControl(s)
		if !utf8.ValidString(got) {
			t.Fatalf("EscapeControl(%q) = %q: not UTF-8", s, got)
		}
		for _, r := range got {
			if unicode.IsControl(r) {
				t.Fatalf("EscapeControl(%q) = %q keeps a control character", s, got)
			}
		}
		if utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl) && got != s {
			t.Fatalf("EscapeControl(%q) changed clean text to %q", s, got)
		}
	})
}

func TestEventConstructors(t *testing.T) {
	g := byte(1)
	tests := []struct {
		e    Event
		kind Kind
		text string
	}{
		{Connecting("h", 1), KindConnecting, "Connecting..."},
		{Connected("id", true), KindConnected, "Connected"},
		{Subscribed("a/+", 1, &g), KindSubscribed, "Subscribed to a/+"},
		{Published("t", 1, false, 3), KindPublished, "Published"},
		{Reconnecting(2, time.Second, errors.New("eof\n")), KindReconnecting, "Reconnecting... [2]"},
		{Disconnected(), KindDisconnected, "Disconnected"},
		{Dropped(5), KindDropped, "Dropped 5 messages: output too slow"},
		{Profile("prod", true, nil), KindProfile, "prod"},
		{ProfileSaved("prod", "/c.yaml", false), KindProfileSaved, "Saved profile prod in /c.yaml"},
		{ProfileSaved("prod", "/c.yaml", true), KindProfileSaved, "Replaced profile prod in /c.yaml"},
		{ProfileRemoved("prod", "/c.yaml"), KindProfileRemoved, "Removed profile prod from /c.yaml"},
		{ProfileDefault("prod"), KindProfileDefault, "Default profile is now prod"},
	}
	for _, tt := range tests {
		if tt.e.Kind() != tt.kind || tt.e.Text != tt.text {
			t.Errorf("%+v: kind %q text %q, want %q %q", tt.e, tt.e.Kind(), tt.e.Text, tt.kind, tt.text)
		}
	}
	if e := Reconnecting(1, 0, errors.New("a\nb")); e.Fields["error"] != `a\nb` {
		t.Errorf("reconnecting error not escaped: %q", e.Fields["error"])
	}
}
