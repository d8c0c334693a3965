package cmdutil

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/mqttc"
	"github.com/mqttx/mqttx/internal/packet"
)

func TestValidateTopicName(t *testing.T) {
	tests := []struct {
		topic   string
		wantErr string
	}{
		{"sensor/1/temperature", ""},
		{"a,b", ""},
		{"/leading/slash", ""},
		{"trailing/", ""},
		{"$SYS/broker", ""},
		{"", "must not be empty"},
		{"a/+", "invalid --topic a/+: topic names cannot contain wildcards"},
		{"a/#", "cannot contain wildcards"},
		{"#", "cannot contain wildcards"},
		{"a\x00b", "NUL"},
		{"\xff", "not valid UTF-8"},
		{strings.Repeat("a", 65536), "longer than 65535"},
	}
	for _, tt := range tests {
		t.Run(tt.topic, func(t *testing.T) {
			checkErr(t, ValidateTopicName(tt.topic), tt.wantErr)
		})
	}
}

func TestValidateTopicFilter(t *testing.T) {
	tests := []struct {
		filter  string
		wantErr string
	}{
		{"sensor/+/temperature", ""},
		{"#", ""},
		{"+", ""},
		{"a/#", ""},
		{"+/+/#", ""},
		{"/", ""},
		{"$share/g/a/+", ""},
		{"", "must not be empty"},
		{"a/#/b", "invalid --topic a/#/b: '#' must be the last level"},
		{"a#", "'#' must be alone in its level"},
		{"a/b#", "'#' must be alone in its level"},
		{"a/b+", "'+' must be alone in its level"},
		{"+a", "'+' must be alone in its level"},
		{"$share/g", "shared subscription"},
		{"$share//a", "shared subscription"},
		{"$share/g+/a", "share group cannot contain wildcards"},
		{"$share/g/a/#/b", "'#' must be the last level"},
		{"x\x00", "NUL"},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			checkErr(t, ValidateTopicFilter(tt.filter), tt.wantErr)
		})
	}
}

func FuzzValidateTopicFilter(f *testing.F) {
	for _, s := range []string{"a/+/b", "#", "a/#", "a/#/b", "+a", "$share/g/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidateTopicFilter(s)
		// The codec decides; the flag check only words the reason.
		if (err == nil) != packet.ValidTopicFilter(s) || (ValidateTopicName(s) == nil) != packet.ValidTopicName(s) {
			t.Fatalf("%q: flag check and codec disagree: filter %v, name %v", s, err, ValidateTopicName(s))
		}
		// A valid topic name is a valid filter, except under $share/, where a filter
		// needs a group and a filter.
		if ValidateTopicName(s) == nil && err != nil && !strings.HasPrefix(s, "$share/") {
			t.Fatalf("topic name %q rejected as a filter: %v", s, err)
		}
		if err != nil {
			return
		}
		// Property: an accepted filter has '#' only as a whole last level and '+' only
		// as a whole level.
		levels := strings.Split(s, "/")
		for i, l := range levels {
			if strings.Contains(l, "#") && (l != "#" || i != len(levels)-1) {
				t.Fatalf("accepted %q with a misplaced '#'", s)
			}
			if strings.Contains(l, "+") && l != "+" {
				t.Fatalf("accepted %q with a misplaced '+'", s)
			}
		}
	})
}

func TestParseUserProperties(t *testing.T) {
	got, err := ParseUserProperties("user-property", []string{"a=1", "a=2", "url=x=y", "empty="})
	if err != nil {
		t.Fatal(err)
	}
	want := []mqttc.UserProperty{{Key: "a", Value: "1"}, {Key: "a", Value: "2"}, {Key: "url", Value: "x=y"}, {Key: "empty", Value: ""}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for _, bad := range []string{"novalue", "=v", ""} {
		_, err := ParseUserProperties("user-property", []string{bad})
		checkErr(t, err, "invalid --user-property")
	}
	if got, err := ParseUserProperties("user-property", nil); got != nil || err != nil {
		t.Errorf("nil input: got %v, %v", got, err)
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{"5", 5 * time.Second, ""},
		{"1.5", 1500 * time.Millisecond, ""},
		{"0", 0, ""},
		{"500ms", 500 * time.Millisecond, ""},
		{"1m30s", 90 * time.Second, ""},
		{" 2 ", 2 * time.Second, ""},
		{"-1", 0, "negative"},
		{"-1s", 0, "negative"},
		{"soon", 0, "not a duration"},
		{"", 0, "not a duration"},
		{"1e300", 0, "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			checkErr(t, err, tt.wantErr)
			if err == nil && got != tt.want {
				t.Errorf("ParseDuration(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
	var d Duration
	if err := d.Set("3"); err != nil || time.Duration(d) != 3*time.Second || d.String() != "3s" || d.Type() != "duration" {
		t.Errorf("Duration.Set(3): %v %v %q", err, time.Duration(d), d.String())
	}
}

func TestValidateQoS(t *testing.T) {
	for q := 0; q <= 2; q++ {
		if err := ValidateQoS("qos", q); err != nil {
			t.Errorf("qos %d: %v", q, err)
		}
	}
	checkErr(t, ValidateQoS("qos", 3), "invalid --qos 3: must be 0, 1 or 2")
	checkErr(t, ValidateQoS("will-qos", -1), "invalid --will-qos -1")
}

func TestOutputOptionsValidate(t *testing.T) {
	for _, o := range []OutputOptions{{}, {Format: "auto"}, {Format: "json", Color: "never"}, {Format: "raw", Color: "always"}, {Format: "text", Color: "auto"}} {
		if err := o.Validate(); err != nil {
			t.Errorf("%+v: %v", o, err)
		}
	}
	checkErr(t, OutputOptions{Format: "xml"}.Validate(), "invalid --output xml: must be text, json or raw")
	checkErr(t, OutputOptions{Color: "yes"}.Validate(), "invalid --color yes")
}

func TestErrors(t *testing.T) {
	err := FlagErrorf("invalid --qos %d", 3)
	if err.Error() != "invalid --qos 3" {
		t.Errorf("FlagErrorf: %q", err)
	}
	te := &TimeoutError{Timeout: 2 * time.Second}
	if !IsTimeout(te) || te.Error() != "timed out after 2s: no message received" {
		t.Errorf("TimeoutError: %q", te)
	}
	if IsTimeout(err) {
		t.Error("a FlagError is not a timeout")
	}
}

func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("unexpected error: %v", err)
	case want != "" && err == nil:
		t.Errorf("no error, want one containing %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Errorf("error %q does not contain %q", err, want)
	}
}

func TestRequireV5(t *testing.T) {
	names := []string{"content-type", "user-property"}
	tests := []struct {
		name    string
		version mqttc.Version
		set     map[string]bool
		want    string
	}{
		{"v5 with flags", mqttc.V5, map[string]bool{"content-type": true}, ""},
		{"v311 without flags", mqttc.V311, map[string]bool{"topic": true}, ""},
		{"v311 with flag", mqttc.V311, map[string]bool{"user-property": true}, "--user-property needs --mqtt-version 5 (got 3.1.1)"},
		{"v31 first flag named", mqttc.V31, map[string]bool{"user-property": true, "content-type": true}, "--content-type needs --mqtt-version 5 (got 3.1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := RequireV5(tt.version, tt.set, names)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			var fe *FlagError
			if !errors.As(err, &fe) || err.Error() != tt.want {
				t.Fatalf("got %v, want usage error %q", err, tt.want)
			}
		})
	}
}
