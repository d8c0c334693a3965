package payload

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

func TestPackShow(t *testing.T) {
	tests := []struct {
		format  Format
		in      string
		wire    []byte
		shown   string
		wantErr string
	}{
		{Text, "hello", []byte("hello"), "hello", ""},
		{Base64, "aGk=", []byte("hi"), "aGk=", ""},
		{Base64, "aGk", []byte("hi"), "aGk=", ""},
		{Base64, "!!", nil, "", "message is not base64"},
		{Hex, "00ff 10", []byte{0, 0xff, 0x10}, "00ff10", ""},
		{Hex, "0xABCD", []byte{0xab, 0xcd}, "abcd", ""},
		{Hex, "zz", nil, "", "message is not hex"},
		{JSON, `{"a":1}`, []byte(`{"a":1}`), "{\n  \"a\": 1\n}", ""},
		{JSON, `{"a":`, nil, "", "message is not JSON"},
		{CBOR, `{"a":1}`, []byte{0xa1, 0x61, 0x61, 0x01}, `{"a":1}`, ""},
		{MsgPack, `{"a":1}`, []byte{0x81, 0xa1, 0x61, 0x01}, `{"a":1}`, ""},
		{CBOR, `{"a":1} 2`, nil, "", "after top-level value"},
		{MsgPack, `nope`, nil, "", "message is not JSON (--format msgpack converts JSON)"},
	}
	for _, tt := range tests {
		t.Run(string(tt.format)+"/"+tt.in, func(t *testing.T) {
			got, err := Pack(tt.format, []byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Pack err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tt.wire) {
				t.Fatalf("Pack = %x, %v; want %x", got, err, tt.wire)
			}
			shown, err := Show(tt.format, got)
			if err != nil || string(shown) != tt.shown {
				t.Fatalf("Show = %q, %v; want %q", shown, err, tt.shown)
			}
		})
	}
}

func TestShowWrongFormat(t *testing.T) {
	for _, f := range []Format{JSON, CBOR, MsgPack} {
		if _, err := Show(f, []byte{0xc1}); err == nil {
			t.Errorf("Show(%s, 0xc1) accepted a payload that is not %s", f, f)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"": Text, "binary": Text, "BASE64": Base64, "hex": Hex, "json": JSON, "cbor": CBOR, "msgpack": MsgPack} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseFormat("protobuf"); err == nil || !strings.Contains(err.Error(), "invalid --format \"protobuf\"") {
		t.Errorf("protobuf: %v", err)
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int
		wantErr string
	}{
		{"0", 0, ""}, {"512", 512, ""}, {"512B", 512, ""}, {"1KB", 1024, ""}, {"1kb", 1024, ""},
		{"1.5K", 1536, ""}, {"2MB", 2 << 20, ""}, {"1KiB", 1024, ""}, {" 3 MB ", 3 << 20, ""},
		{"256MB", 0, "larger than MQTT's limit"}, {"-1", 0, "negative"}, {"", 0, "not a size"},
		{"KB", 0, "not a size"}, {"1GB", 0, "not a size"}, {"1e3", 0, "not a size"}, {"NaN", 0, "not a size"}, {"inf", 0, "not a size"},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseSize(%q) err = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestRandom(t *testing.T) {
	r := rand.NewChaCha8([32]byte{1})
	a, err := Random(r, 1000)
	if err != nil || len(a) != 1000 {
		t.Fatalf("Random: %d bytes, %v", len(a), err)
	}
	b, _ := Random(r, 1000)
	if bytes.Equal(a, b) {
		t.Fatal("two random payloads are equal")
	}
}

func TestString(t *testing.T) {
	if s, e := String([]byte("ok")); s != "ok" || e != UTF8 {
		t.Errorf("String(ok) = %q %q", s, e)
	}
	if s, e := String([]byte{0xff}); s != "/w==" || e != Base64ed {
		t.Errorf("String(ff) = %q %q", s, e)
	}
}

// FuzzParseSize: an accepted size is within MQTT's limit and not negative.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"1KB", "512", "2MB", "1.5K", "-1", "1e9", "0x10", "KB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err == nil && (n < 0 || n > MaxSize) {
			t.Fatalf("ParseSize(%q) = %d", s, n)
		}
	})
}

// FuzzPackShow: whatever Pack accepts, Show of the same format accepts, and for the
// converting formats the JSON shown means the same as the JSON packed.
func FuzzPackShow(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5,"x",null,true]}`, `"s"`, `12345678901234567890`, `-1`, `[]`, `aGk=`, `00ff`} {
		f.Add(s, uint8(0))
	}
	formats := []Format{Text, Base64, Hex, JSON, CBOR, MsgPack}
	f.Fuzz(func(t *testing.T, in string, fi uint8) {
		format := formats[int(fi)%len(formats)]
		wire, err := Pack(format, []byte(in))
		if err != nil {
			return
		}
		shown, err := Show(format, wire)
		if err != nil {
			t.Fatalf("Show(%s) of what Pack made from %q: %v", format, in, err)
		}
		if format == CBOR || format == MsgPack {
			var a, b any
			if json.Unmarshal([]byte(in), &a) != nil || json.Unmarshal(shown, &b) != nil {
				t.Fatalf("%s round trip of %q gave %q", format, in, shown)
			}
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("%s round trip of %q gave %q", format, in, shown)
			}
		}
	})
}
