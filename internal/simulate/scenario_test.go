package simulate

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestLoadErrors checks that each kind of bad scenario fails with the file, the line
// and a fix, before any device exists.
func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown field", "name: x\nintervall: 1s\npayload: hi\n",
			`bad.yaml:2: unknown field "intervall" (did you mean "interval"?): allowed fields are name, description, interval, format, topic, device, values, payload`},
		{"unknown function", "name: x\npayload: |\n  {\"a\": 1,\n   \"b\": {{ nmae }}}\n",
			`bad.yaml:4: payload: unknown function "nmae" (did you mean "name"?): the functions are listed in ` + "`mqttx simulate --help`" + ` and scenarios/README.md`},
		{"unknown function in device", "name: x\ndevice:\n  id: '{{ serial }}'\npayload: a\n",
			`bad.yaml:3: device.id: unknown function "serial"`},
		{"bad template", "name: x\npayload: |\n  {\"a\": {{ .speed }\n",
			`bad.yaml:3: payload: unexpected "}" in operand: check the {{ }} pairs and quoting`},
		{"unclosed action", "name: x\ntopic: 'a/{{ .device'\npayload: a\n",
			`bad.yaml:2: topic: unclosed action`},
		{"number as string", "name: x\nvalues:\n  speed: {walk: {min: 0, max: fast, step: 1}}\npayload: '{{.speed}}'\n",
			`bad.yaml:3: values.speed.walk.max: "fast" is not a number: write it without quotes, e.g. 1.5`},
		{"quoted number", "name: x\nvalues:\n  speed: {walk: {min: 0, max: '9', step: 1}}\npayload: '{{.speed}}'\n",
			`bad.yaml:3: values.speed.walk.max: "9" is not a number`},
		{"function argument type", "name: x\npayload: |\n  line\n  {{ randInt \"a\" 2 }}\n",
			`bad.yaml:4: payload: <"a">: expected integer; found "a": check the function's arguments in scenarios/README.md`},
		{"missing value", "name: x\npayload: |\n  {\"a\": {{ .nope }}}\n",
			`bad.yaml:3: payload: <.nope>: map has no entry for key "nope": use a name defined under device or values`},
		{"not JSON", "name: x\ndevice:\n  n: '{{ name }}'\npayload: |\n  {\"a\": {{ .n }}}\n",
			`bad.yaml:4: payload: renders invalid JSON`},
		{"yaml syntax", "name: x\n  payload: [\n", `bad.yaml:2: invalid YAML: mapping values are not allowed in this context`},
		{"bad interval", "name: x\ninterval: soon\npayload: a\n", `bad.yaml:2: interval: "soon" is not a positive duration: use e.g. 1s, 500ms or 1m`},
		{"zero interval", "name: x\ninterval: 0s\npayload: a\n", `bad.yaml:2: interval: "0s" is not a positive duration`},
		{"stay out of range", "name: x\nvalues:\n  s: {enum: {a: 1}, stay: 2}\npayload: a\n", `bad.yaml:3: values.s.stay: 2 is not a probability: use 0 to 1`},
		{"two kinds", "name: x\nvalues:\n  s:\n    walk: {min: 0, max: 1, step: 1}\n    event: {p: 0.1}\npayload: a\n", `bad.yaml:5: values.s: has both walk and event: keep one`},
		{"no kind", "name: x\nvalues:\n  s: {decimals: 1}\npayload: a\n", `bad.yaml:3: values.s: needs one of walk, cycle, counter, enum, event`},
		{"unknown value kind", "name: x\nvalues:\n  s: {wlak: {min: 0}}\npayload: a\n", `bad.yaml:3: values.s: unknown field "wlak" (did you mean "walk"?)`},
		{"unknown walk field", "name: x\nvalues:\n  s: {walk: {min: 0, max: 1, stpe: 1}}\npayload: a\n", `bad.yaml:3: values.s.walk: unknown field "stpe" (did you mean "step"?): allowed fields are min, max, step, start`},
		{"min above max", "name: x\nvalues:\n  s: {walk: {min: 5, max: 1, step: 1}}\npayload: a\n", `bad.yaml:3: values.s.walk: min 5 must be below max 1`},
		{"start outside", "name: x\nvalues:\n  s: {walk: {min: 0, max: 10, step: 1, start: [5, 20]}}\npayload: a\n", `bad.yaml:3: values.s.walk.start: must lie within min and max (0 to 10)`},
		{"counter decreasing", "name: x\nvalues:\n  s: {counter: {step: [-1, 1]}}\npayload: a\n", `bad.yaml:3: values.s.counter.step: a counter only increases`},
		{"bad peak", "name: x\nvalues:\n  s: {cycle: {min: 0, max: 1, peak: noon}}\npayload: a\n", `bad.yaml:3: values.s.cycle.peak: "noon" is not a time of day: use HH:MM`},
		{"probability", "name: x\nvalues:\n  s: {event: {p: 1.5}}\npayload: a\n", `bad.yaml:3: values.s.event.p: 1.5 is not a probability: use 0 to 1`},
		{"negative weight", "name: x\nvalues:\n  s: {enum: {a: -1, b: 2}}\npayload: a\n", `bad.yaml:3: values.s.enum.a: weight -1 is negative`},
		{"reserved name", "name: x\nvalues:\n  seq: {event: {p: 0.5}}\npayload: a\n", `bad.yaml:3: name "seq" is built in`},
		{"duplicate name", "name: x\ndevice:\n  a: '1'\nvalues:\n  a: {event: {p: 0.5}}\npayload: a\n", `bad.yaml:5: name "a" is already defined on line 3: rename one`},
		{"bad name", "name: X Y\npayload: a\n", `bad.yaml:1: invalid name "X Y": use lowercase letters, digits, - and _`},
		{"missing name", "payload: a\n", `bad.yaml:1: missing name`},
		{"missing payload", "name: x\n", `bad.yaml:1: missing payload`},
		{"empty", "", `bad.yaml: empty scenario`},
		{"not a mapping", "- a\n", `bad.yaml:1: a scenario is a mapping`},
		{"format", "name: x\nformat: xml\npayload: a\n", `bad.yaml:2: format: "xml" is not json or text`},
		{"decimals on enum", "name: x\nvalues:\n  s: {enum: [a], decimals: 1}\npayload: a\n", `bad.yaml:3: values.s.decimals: only numbers`},
		{"empty topic", "name: x\ntopic: '{{ if false }}x{{ end }}'\npayload: a\n", `bad.yaml:2: topic: renders empty`},
	}
	lineRE := regexp.MustCompile(`^bad\.yaml(:\d+)?: [a-z<]`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, err := Load("bad.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatalf("loaded %q, want error %q", sc.Name, tt.want)
			}
			var se *Error
			if !errors.As(err, &se) {
				t.Errorf("error %T, want *Error", err)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error\n  %s\nwant prefix\n  %s", err, tt.want)
			}
			if !lineRE.MatchString(err.Error()) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is not one lowercase line starting with the file", err)
			}
		})
	}
}

const custom = `# A custom scenario using every kind of value.
name: my-fleet
description: every kind of value
interval: 250ms
topic: fleet/{{.device}}/{{.kind}}
device:
  serial: 'SN-{{ digits 6 }}'
  owner: '{{ name }}'
  kind: '{{ pick "pump" "fan" }}'
values:
  level: {walk: {min: 0, max: 100, start: 50, step: 2}, decimals: 1}
  temp: {cycle: {min: 10, max: 30, peak: "14:00", noise: 0.5}}
  total: {counter: {start: 100, step: [1, 2]}, decimals: 0}
  mode: {enum: {auto: 3, manual: 1}, stay: 0.5}
  mood: {enum: [happy, sad]}
  alarm: {event: {p: 0.25}}
payload: |
  {"serial": "{{.serial}}", "owner": {{ json .owner }}, "seq": {{.seq}},
   "level": {{.level}}, "temp": {{.temp}}, "total": {{.total}}, "mode": "{{.mode}}",
   "mood": "{{.mood}}", "alarm": {{.alarm}}, "at": "{{ rfc3339 .time }}"}
`

// TestCustomScenario checks the value kinds keep their promises over many messages.
func TestCustomScenario(t *testing.T) {
	sc, err := Load("my.yaml", []byte(custom))
	if err != nil {
		t.Fatal(err)
	}
	if sc.Name != "my-fleet" || sc.Interval != 250*time.Millisecond || !sc.JSON {
		t.Fatalf("scenario %+v", sc)
	}
	d, err := sc.NewDevice(DeviceConfig{Index: 4, ClientID: "c4", Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	type msg struct {
		Serial, Owner, Mode, Mood, At string
		Seq                           int
		Level, Temp, Total            float64
		Alarm                         bool
	}
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var first msg
	prevTotal, alarms, auto := 0.0, 0, 0
	const n = 2000
	for i := 0; i < n; i++ {
		at := start.Add(time.Duration(i) * time.Minute)
		m, err := d.Next(at)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(m.Topic, "fleet/4/") {
			t.Fatalf("topic %q", m.Topic)
		}
		if bytes.Contains(m.Payload, []byte("\n")) {
			t.Fatalf("payload not joined into one line: %q", m.Payload)
		}
		var v msg
		if err := json.Unmarshal(m.Payload, &v); err != nil {
			t.Fatalf("%v: %s", err, m.Payload)
		}
		if i == 0 {
			first = v
			if v.Level != 50 || v.Total != 100 {
				t.Errorf("start values: level %v total %v, want 50 and 100", v.Level, v.Total)
			}
		}
		if v.Serial != first.Serial || v.Owner != first.Owner {
			t.Fatalf("device values changed: %+v then %+v", first, v)
		}
		if v.Seq != i+1 {
			t.Fatalf("seq %d, want %d", v.Seq, i+1)
		}
		if v.Level < 0 || v.Level > 100 || v.Temp < 10 || v.Temp > 30 {
			t.Fatalf("out of bounds: %+v", v)
		}
		if i > 0 && (v.Total < prevTotal+1 || v.Total > prevTotal+2+0.5) {
			t.Fatalf("counter went from %v to %v, want +1..2", prevTotal, v.Total)
		}
		prevTotal = v.Total
		if v.Alarm {
			alarms++
		}
		if v.Mode == "auto" {
			auto++
		}
		if v.At != at.Format("2006-01-02T15:04:05.000Z07:00") {
			t.Fatalf("at %q", v.At)
		}
	}
	// p = 0.25 over 2000 messages: 500 expected, far outside 350..650 would be a bug.
	if alarms < 350 || alarms > 650 {
		t.Errorf("%d alarms in %d messages, want about %d", alarms, n, n/4)
	}
	if auto < n/2 || auto > n*9/10 {
		t.Errorf("%d auto in %d, want about 3/4", auto, n)
	}
}

// TestDailyCycle checks that a cycle peaks at its peak time and bottoms 12 hours later.
func TestDailyCycle(t *testing.T) {
	sc, err := Load("c.yaml", []byte("name: c\nvalues:\n  t: {cycle: {min: 0, max: 10, peak: \"15:00\"}, decimals: 3}\npayload: '{{.t}}'\n"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := sc.NewDevice(DeviceConfig{Index: 1, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		hour int
		want string
	}{{15, "10.000"}, {3, "0.000"}, {9, "5.000"}, {21, "5.000"}} {
		m, err := d.Next(time.Date(2026, 1, 2, tt.hour, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		if string(m.Payload) != tt.want {
			t.Errorf("at %02d:00 got %s, want %s", tt.hour, m.Payload, tt.want)
		}
	}
}

// TestSameSeedSameData checks that a seed fully determines a device's messages and that
// other seeds differ.
func TestSameSeedSameData(t *testing.T) {
	sc, err := Load("my.yaml", []byte(custom))
	if err != nil {
		t.Fatal(err)
	}
	gen := func(seed uint64) string {
		d, err := sc.NewDevice(DeviceConfig{Index: 1, ClientID: "c", Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		for i := 0; i < 50; i++ {
			m, err := d.Next(at)
			if err != nil {
				t.Fatal(err)
			}
			b.Write(m.Payload)
		}
		return b.String()
	}
	if a, b := gen(7), gen(7); a != b {
		t.Error("seed 7 gave different data twice")
	}
	if gen(7) == gen(8) {
		t.Error("seeds 7 and 8 gave the same data")
	}
}

func TestExpandTopic(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain/topic", "plain/topic"},
		{"d/%i/%c", "d/3/cid_3"},
		{"%sc/%u/%i", "tesla/alice/3"},
		{"100%%/%x/%", "100%/%x/%"},
	}
	for _, tt := range tests {
		if got := ExpandTopic(tt.in, 3, "cid_3", "alice", "tesla"); got != tt.want {
			t.Errorf("ExpandTopic(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestJoinLines(t *testing.T) {
	tests := []struct{ in, want string }{
		{"{\n  \"a\": 1,\n  \"b\": 2\n}\n", `{"a": 1,"b": 2}`},
		{"no breaks", "no breaks"},
		{"a  \r\n\t b", "ab"},
	}
	for _, tt := range tests {
		if got := string(joinLines([]byte(tt.in))); got != tt.want {
			t.Errorf("joinLines(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
