package simulate

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"time"

	"go.yaml.in/yaml/v3"
)

// Scenario is a validated scenario file, ready to build devices from.
type Scenario struct {
	Name        string
	Description string
	// Interval is the default time between two messages of one device.
	Interval time.Duration
	// File is where the scenario came from ("tesla.yaml", a path), used in errors.
	File string
	// Source is the file's text, as `simulate show` prints it.
	Source []byte
	// JSON says the payload must render as JSON (format: json, or a payload template
	// that starts with { or [).
	JSON bool

	topicText string // the topic template's text
	topic     *template.Template
	payload   *template.Template
	device    []deviceField
	values    []valueSpec

	// fastTopic and fastPayload are the compiled templates (nil: text/template only);
	// slots maps the names templates read to their place in a device's slots.
	fastTopic, fastPayload node
	slots                  map[string]slotExpr

	topicLine, payloadLine int
	payloadLiteral         bool
}

// deviceField is a value fixed per device: a template run once when the device is made.
type deviceField struct {
	name string
	line int
	tmpl *template.Template
	fast node // compiled, or nil
}

// Error is a problem in a scenario file, at a line. Its message names the fix.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Built-in names the templates see beside the scenario's own values.
const (
	keyDevice   = "device"    // device number, 1..N
	keyClientID = "client_id" // the device's MQTT client id
	keyScenario = "scenario"  // scenario name
	keySeq      = "seq"       // message number of this device, from 1
	keyTime     = "time"      // when the message is generated (time.Time)
)

var reserved = []string{keyDevice, keyClientID, keyScenario, keySeq, keyTime}

var topFields = []string{"name", "description", "interval", "format", "topic", "device", "values", "payload"}

// The regular expressions are compiled on first use, not at start-up.
var nameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`) })
var identRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`) })

// noFast turns the compiled fast path off, so tests can compare it with text/template.
var noFast = false

// DefaultTopic is the topic template of a scenario that names none.
const DefaultTopic = "mqttx/simulate/{{.scenario}}/{{.client_id}}"

// Load parses and validates a scenario file. file names it in errors. Everything is
// checked before a device is made: unknown fields and functions, template syntax,
// types, and a trial run of every template (which must render JSON when the format is
// json). Errors are *Error with the line and the fix.
func Load(file string, data []byte) (*Scenario, error) {
	sc := &Scenario{File: file, Source: data, Interval: time.Second, topicText: DefaultTopic}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlSyntaxError(file, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, &Error{File: file, Msg: "empty scenario: it needs at least name and payload"}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, &Error{File: file, Line: root.Line, Msg: "a scenario is a mapping of name, interval, topic, payload, device and values"}
	}
	l := &loader{file: file}
	var payloadText, format string
	var deviceNode, valuesNode *yaml.Node
	var payloadNode, topicNode *yaml.Node
	seen := map[string]bool{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if seen[k.Value] {
			return nil, l.errf(k, "duplicate field %q: keep one", k.Value)
		}
		seen[k.Value] = true
		switch k.Value {
		case "name":
			sc.Name = l.str(k, v)
			if l.err == nil && !nameRE().MatchString(sc.Name) {
				return nil, l.errf(v, "invalid name %q: use lowercase letters, digits, - and _", sc.Name)
			}
		case "description":
			sc.Description = l.str(k, v)
		case "interval":
			s := l.str(k, v)
			if l.err != nil {
				break
			}
			d, err := time.ParseDuration(s)
			if err != nil || d <= 0 {
				return nil, l.errf(v, "interval: %q is not a positive duration: use e.g. 1s, 500ms or 1m", s)
			}
			sc.Interval = d
		case "format":
			format = l.str(k, v)
			if l.err == nil && format != "json" && format != "text" {
				return nil, l.errf(v, "format: %q is not json or text", format)
			}
		case "topic":
			sc.topicText = l.str(k, v)
			topicNode = v
		case "payload":
			payloadText = l.str(k, v)
			payloadNode = v
		case "device":
			deviceNode = v
		case "values":
			valuesNode = v
		default:
			return nil, l.errf(k, "unknown field %q%s: allowed fields are %s", k.Value, suggest(k.Value, topFields), strings.Join(topFields, ", "))
		}
		if l.err != nil {
			return nil, l.err
		}
	}
	if sc.Name == "" {
		return nil, l.errf(root, "missing name: add a line such as `name: my-sensor`")
	}
	if payloadNode == nil {
		return nil, l.errf(root, "missing payload: add a payload template such as `payload: '{\"temp\": {{.temp}}}'`")
	}
	switch format {
	case "json":
		sc.JSON = true
	case "":
		t := strings.TrimSpace(payloadText)
		sc.JSON = strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[")
	}

	names := map[string]int{}
	for _, r := range reserved {
		names[r] = 0
	}
	if deviceNode != nil {
		if deviceNode.Kind != yaml.MappingNode {
			return nil, l.errf(deviceNode, "device: must be a mapping of names to templates, e.g. `vin: '{{ numerify \"5YJ3##########\" }}'`")
		}
		for i := 0; i+1 < len(deviceNode.Content); i += 2 {
			k, v := deviceNode.Content[i], deviceNode.Content[i+1]
			if err := l.checkName(k, names); err != nil {
				return nil, err
			}
			text := l.scalar(k, v)
			if l.err != nil {
				return nil, l.err
			}
			t, err := l.parse("device."+k.Value, text, v)
			if err != nil {
				return nil, err
			}
			sc.device = append(sc.device, deviceField{name: k.Value, line: v.Line, tmpl: t})
			names[k.Value] = k.Line
		}
	}
	if valuesNode != nil {
		if valuesNode.Kind != yaml.MappingNode {
			return nil, l.errf(valuesNode, "values: must be a mapping of names to a walk, cycle, counter, enum or event")
		}
		for i := 0; i+1 < len(valuesNode.Content); i += 2 {
			k, v := valuesNode.Content[i], valuesNode.Content[i+1]
			if err := l.checkName(k, names); err != nil {
				return nil, err
			}
			vs, err := l.value(k, v)
			if err != nil {
				return nil, err
			}
			sc.values = append(sc.values, vs)
			names[k.Value] = k.Line
		}
	}
	var err error
	if sc.topic, err = l.parse("topic", sc.topicText, topicNode); err != nil {
		return nil, err
	}
	if topicNode != nil {
		sc.topicLine = topicNode.Line
	}
	if sc.payload, err = l.parse("payload", payloadText, payloadNode); err != nil {
		return nil, err
	}
	sc.payloadLine = payloadNode.Line
	sc.slots = map[string]slotExpr{
		keyDevice: {0, kInt}, keyClientID: {1, kStr}, keyScenario: {2, kStr}, keySeq: {3, kNum}, keyTime: {4, kTime},
	}
	for i := range sc.device {
		f := &sc.device[i]
		if !noFast {
			// A device field sees the built-ins and the fields above it.
			f.fast = compileFast(f.tmpl.Tree, sc.slots)
		}
		sc.slots[f.name] = slotExpr{len(sc.slots), kStr}
	}
	for _, v := range sc.values {
		k := kNum
		switch v.kind {
		case kindEnum:
			k = kStr
		case kindEvent:
			k = kBool
		}
		sc.slots[v.name] = slotExpr{len(sc.slots), k}
	}
	if !noFast {
		sc.fastTopic = compileFast(sc.topic.Tree, sc.slots)
		sc.fastPayload = compileFast(sc.payload.Tree, sc.slots)
	}
	sc.payloadLiteral = payloadNode.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0
	if err := sc.trial(l, payloadNode, topicNode); err != nil {
		return nil, err
	}
	return sc, nil
}

// trial renders a few messages of two devices, so exec-time errors (a function given a
// string where it wants a number, a field that is not there) and payloads that are not
// JSON are found before connecting.
func (sc *Scenario) trial(l *loader, payloadNode, topicNode *yaml.Node) error {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for n := 1; n <= 2; n++ {
		d, err := sc.NewDevice(DeviceConfig{Index: n, ClientID: "trial_" + strconv.Itoa(n), Seed: uint64(n)})
		if err != nil {
			return err
		}
		for i := 0; i < 3; i++ {
			m, err := d.Next(start.Add(time.Duration(i) * sc.Interval))
			if err != nil {
				return err
			}
			if m.Topic == "" {
				return l.errf(orNode(topicNode, payloadNode), "topic: renders empty: a topic needs at least one character")
			}
			if sc.JSON && !json.Valid(m.Payload) {
				var v any
				jerr := json.Unmarshal(m.Payload, &v)
				return l.errf(payloadNode, "payload: renders invalid JSON (%v) such as %s: quote strings with {{ json .x }}, or set `format: text`", jerr, clip(m.Payload, 80))
			}
		}
	}
	return nil
}

func orNode(a, b *yaml.Node) *yaml.Node {
	if a != nil {
		return a
	}
	return b
}

func clip(b []byte, n int) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > n {
		s = s[:n] + "..."
	}
	return strconv.Quote(s)
}

type loader struct {
	file string
	err  error
}

func (l *loader) errf(n *yaml.Node, format string, args ...any) error {
	line := 0
	if n != nil {
		line = n.Line
	}
	return &Error{File: l.file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// str reads a string scalar; a number or bool is taken as its text.
func (l *loader) str(k, v *yaml.Node) string {
	if l.err != nil {
		return ""
	}
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
		l.err = l.errf(v, "%s: must be a string", k.Value)
		return ""
	}
	return v.Value
}

// scalar reads a template text: strings, numbers and bools as written.
func (l *loader) scalar(k, v *yaml.Node) string {
	return l.str(k, v)
}

func (l *loader) checkName(k *yaml.Node, names map[string]int) error {
	if !identRE().MatchString(k.Value) {
		return l.errf(k, "invalid name %q: use letters, digits and _ (templates write it as {{.%s}})", k.Value, k.Value)
	}
	if line, ok := names[k.Value]; ok {
		if line == 0 {
			return l.errf(k, "name %q is built in (%s): choose another", k.Value, strings.Join(reserved, ", "))
		}
		return l.errf(k, "name %q is already defined on line %d: rename one", k.Value, line)
	}
	return nil
}

var tmplErrRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^template: [^:]*:(\d+):(?:(\d+):)? ?(.*)$`) })
var undefFuncRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`function "([^"]+)" not defined`) })

// parse parses a template with the function set; errors carry the file line of the
// template's own line.
func (l *loader) parse(name, text string, n *yaml.Node) (*template.Template, error) {
	t, err := template.New(name).Option("missingkey=error").Funcs(validationFuncs()).Parse(text)
	if err != nil {
		return nil, l.templateError(name, err, n)
	}
	return t, nil
}

// templateError maps a text/template error to the file's line, with a fix.
func (l *loader) templateError(name string, err error, n *yaml.Node) error {
	msg := err.Error()
	tline := 1
	if m := tmplErrRE().FindStringSubmatch(msg); m != nil {
		tline, _ = strconv.Atoi(m[1])
		msg = m[3]
	}
	msg = strings.TrimPrefix(msg, "executing \""+name+"\" at ")
	line := 0
	if n != nil {
		line = n.Line
		if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
			line += tline
		} else {
			line += tline - 1
		}
	}
	fix := "check the {{ }} pairs and quoting"
	if m := undefFuncRE().FindStringSubmatch(msg); m != nil {
		msg = fmt.Sprintf("unknown function %q%s", m[1], suggest(m[1], FuncNames()))
		fix = "the functions are listed in `mqttx simulate --help` and scenarios/README.md"
	} else if strings.Contains(msg, "map has no entry for key") {
		fix = "use a name defined under device or values, or a built-in: " + strings.Join(reserved, ", ")
	} else if strings.Contains(msg, "error calling") || strings.Contains(msg, "wrong type") || strings.Contains(msg, "wrong number of args") || strings.HasPrefix(msg, "<") && strings.Contains(msg, ": expected ") {
		fix = "check the function's arguments in scenarios/README.md"
	}
	return &Error{File: l.file, Line: line, Msg: fmt.Sprintf("%s: %s: %s", name, oneLine(msg), fix)}
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

var yamlLineRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^yaml: line (\d+): (.*)$`) })

func yamlSyntaxError(file string, err error) error {
	msg := err.Error()
	if m := yamlLineRE().FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: file, Line: line, Msg: "invalid YAML: " + m[2] + ": check indentation and quote templates that start with { or contain ': '"}
	}
	return &Error{File: file, Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

// valueSpec is one entry of values: how a value changes with each message.
type valueSpec struct {
	name     string
	line     int
	kind     int
	decimals int

	min, max     float64
	start        [2]float64 // uniform range per device
	step         [2]float64 // walk: ± step[1]; counter: uniform increase per message
	peak, period time.Duration
	noise        float64
	spread       float64
	p            float64
	stay         float64
	choices      []string
	weights      []float64 // cumulative
}

const (
	kindWalk = iota + 1
	kindCycle
	kindCounter
	kindEnum
	kindEvent
)

var kindNames = []string{"walk", "cycle", "counter", "enum", "event"}

// value reads one values entry: exactly one of walk, cycle, counter, enum, event, plus
// decimals (numbers) or stay (enum).
func (l *loader) value(k, v *yaml.Node) (valueSpec, error) {
	vs := valueSpec{name: k.Value, line: k.Line, decimals: -1}
	if v.Kind != yaml.MappingNode {
		return vs, l.errf(v, "values.%s: must be a mapping with one of %s, e.g. `%s: {walk: {min: 0, max: 100, step: 1}}`", k.Value, strings.Join(kindNames, ", "), k.Value)
	}
	var body *yaml.Node
	var bodyKey *yaml.Node
	var stayNode *yaml.Node
	for i := 0; i+1 < len(v.Content); i += 2 {
		fk, fv := v.Content[i], v.Content[i+1]
		switch fk.Value {
		case "walk", "cycle", "counter", "enum", "event":
			if body != nil {
				return vs, l.errf(fk, "values.%s: has both %s and %s: keep one", k.Value, bodyKey.Value, fk.Value)
			}
			body, bodyKey = fv, fk
			for j, n := range kindNames {
				if n == fk.Value {
					vs.kind = j + 1
				}
			}
		case "decimals":
			d, err := l.intv(k.Value+".decimals", fv)
			if err != nil {
				return vs, err
			}
			if d < 0 || d > 9 {
				return vs, l.errf(fv, "values.%s.decimals: %d is out of range: use 0 to 9", k.Value, d)
			}
			vs.decimals = d
		case "stay":
			stayNode = fv
		default:
			return vs, l.errf(fk, "values.%s: unknown field %q%s: use one of %s, and decimals or stay", k.Value, fk.Value, suggest(fk.Value, append(kindNames[:len(kindNames):len(kindNames)], "decimals", "stay")), strings.Join(kindNames, ", "))
		}
	}
	if body == nil {
		return vs, l.errf(v, "values.%s: needs one of %s", k.Value, strings.Join(kindNames, ", "))
	}
	if stayNode != nil {
		if vs.kind != kindEnum {
			return vs, l.errf(stayNode, "values.%s.stay: only an enum has stay", k.Value)
		}
		f, err := l.num(k.Value+".stay", stayNode)
		if err != nil {
			return vs, err
		}
		if f < 0 || f > 1 {
			return vs, l.errf(stayNode, "values.%s.stay: %v is not a probability: use 0 to 1", k.Value, f)
		}
		vs.stay = f
	}
	if vs.decimals >= 0 && (vs.kind == kindEnum || vs.kind == kindEvent) {
		return vs, l.errf(v, "values.%s.decimals: only numbers (walk, cycle, counter) have decimals", k.Value)
	}
	if vs.decimals < 0 {
		vs.decimals = 2
		if vs.kind == kindCounter {
			vs.decimals = 0
		}
	}
	path := "values." + k.Value + "." + bodyKey.Value
	switch vs.kind {
	case kindEnum:
		return vs, l.enum(path, body, &vs)
	case kindEvent:
		return vs, l.event(path, body, &vs)
	}
	if body.Kind != yaml.MappingNode {
		return vs, l.errf(body, "%s: must be a mapping, e.g. {min: 0, max: 100, step: 1}", path)
	}
	fields := map[string]*yaml.Node{}
	var allowed []string
	switch vs.kind {
	case kindWalk:
		allowed = []string{"min", "max", "step", "start"}
	case kindCycle:
		allowed = []string{"min", "max", "peak", "period", "noise", "spread"}
	case kindCounter:
		allowed = []string{"start", "step"}
	}
	for i := 0; i+1 < len(body.Content); i += 2 {
		fk, fv := body.Content[i], body.Content[i+1]
		if !contains(allowed, fk.Value) {
			return vs, l.errf(fk, "%s: unknown field %q%s: allowed fields are %s", path, fk.Value, suggest(fk.Value, allowed), strings.Join(allowed, ", "))
		}
		fields[fk.Value] = fv
	}
	need := func(name string) (float64, error) {
		n, ok := fields[name]
		if !ok {
			return 0, l.errf(body, "%s: missing %s: allowed fields are %s", path, name, strings.Join(allowed, ", "))
		}
		return l.num(path+"."+name, n)
	}
	var err error
	switch vs.kind {
	case kindWalk, kindCycle:
		if vs.min, err = need("min"); err != nil {
			return vs, err
		}
		if vs.max, err = need("max"); err != nil {
			return vs, err
		}
		if vs.min >= vs.max {
			return vs, l.errf(body, "%s: min %v must be below max %v", path, vs.min, vs.max)
		}
	}
	switch vs.kind {
	case kindWalk:
		if vs.step[1], err = need("step"); err != nil {
			return vs, err
		}
		if vs.step[1] <= 0 || vs.step[1] > vs.max-vs.min {
			return vs, l.errf(fields["step"], "%s.step: %v must be above 0 and at most max-min (%v)", path, vs.step[1], vs.max-vs.min)
		}
		vs.start = [2]float64{vs.min, vs.max}
		if n, ok := fields["start"]; ok {
			if vs.start, err = l.rng(path+".start", n); err != nil {
				return vs, err
			}
			if vs.start[0] < vs.min || vs.start[1] > vs.max {
				return vs, l.errf(n, "%s.start: must lie within min and max (%v to %v)", path, vs.min, vs.max)
			}
		}
	case kindCycle:
		vs.period = 24 * time.Hour
		vs.peak = 15 * time.Hour
		if n, ok := fields["period"]; ok {
			s := l.str(&yaml.Node{Value: path + ".period"}, n)
			d, perr := time.ParseDuration(s)
			if l.err != nil || perr != nil || d <= 0 {
				return vs, l.errf(n, "%s.period: %q is not a positive duration: use e.g. 24h or 10m", path, n.Value)
			}
			vs.period = d
		}
		if n, ok := fields["peak"]; ok {
			t, perr := time.Parse("15:04", n.Value)
			if n.Kind != yaml.ScalarNode || perr != nil {
				return vs, l.errf(n, "%s.peak: %q is not a time of day: use HH:MM, e.g. \"15:00\"", path, n.Value)
			}
			vs.peak = time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute
		}
		for _, f := range []struct {
			name string
			dst  *float64
		}{{"noise", &vs.noise}, {"spread", &vs.spread}} {
			if n, ok := fields[f.name]; ok {
				if *f.dst, err = l.num(path+"."+f.name, n); err != nil {
					return vs, err
				}
				if *f.dst < 0 {
					return vs, l.errf(n, "%s.%s: must not be negative", path, f.name)
				}
			}
		}
	case kindCounter:
		n, ok := fields["step"]
		if !ok {
			return vs, l.errf(body, "%s: missing step: the increase per message, a number or [low, high]", path)
		}
		if vs.step, err = l.rng(path+".step", n); err != nil {
			return vs, err
		}
		if vs.step[0] < 0 {
			return vs, l.errf(n, "%s.step: a counter only increases: use a step of 0 or more", path)
		}
		if n, ok := fields["start"]; ok {
			if vs.start, err = l.rng(path+".start", n); err != nil {
				return vs, err
			}
		}
	}
	return vs, nil
}

func (l *loader) enum(path string, body *yaml.Node, vs *valueSpec) error {
	switch body.Kind {
	case yaml.SequenceNode:
		for _, n := range body.Content {
			if n.Kind != yaml.ScalarNode {
				return l.errf(n, "%s: each choice must be a string", path)
			}
			vs.choices = append(vs.choices, n.Value)
			vs.weights = append(vs.weights, float64(len(vs.choices)))
		}
	case yaml.MappingNode:
		total := 0.0
		for i := 0; i+1 < len(body.Content); i += 2 {
			k, v := body.Content[i], body.Content[i+1]
			w, err := l.num(path+"."+k.Value, v)
			if err != nil {
				return err
			}
			if w < 0 {
				return l.errf(v, "%s.%s: weight %v is negative: use 0 or more", path, k.Value, w)
			}
			total += w
			vs.choices = append(vs.choices, k.Value)
			vs.weights = append(vs.weights, total)
		}
		if len(vs.choices) > 0 && total <= 0 {
			return l.errf(body, "%s: the weights add up to 0: give at least one a positive weight", path)
		}
	default:
		return l.errf(body, "%s: must list choices ([a, b]) or map choices to weights ({a: 3, b: 1})", path)
	}
	if len(vs.choices) == 0 {
		return l.errf(body, "%s: has no choices", path)
	}
	return nil
}

func (l *loader) event(path string, body *yaml.Node, vs *valueSpec) error {
	if body.Kind != yaml.MappingNode {
		return l.errf(body, "%s: must be a mapping such as {p: 0.01}", path)
	}
	found := false
	for i := 0; i+1 < len(body.Content); i += 2 {
		k, v := body.Content[i], body.Content[i+1]
		if k.Value != "p" {
			return l.errf(k, "%s: unknown field %q: an event has only p, its probability per message", path, k.Value)
		}
		p, err := l.num(path+".p", v)
		if err != nil {
			return err
		}
		if p < 0 || p > 1 {
			return l.errf(v, "%s.p: %v is not a probability: use 0 to 1", path, p)
		}
		vs.p, found = p, true
	}
	if !found {
		return l.errf(body, "%s: missing p, its probability per message, e.g. {p: 0.01}", path)
	}
	return nil
}

func (l *loader) num(path string, n *yaml.Node) (float64, error) {
	if n.Kind == yaml.ScalarNode && (n.Tag == "!!int" || n.Tag == "!!float") {
		f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
		if err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			return f, nil
		}
	}
	return 0, l.errf(n, "%s: %s is not a number: write it without quotes, e.g. 1.5", path, describe(n))
}

func (l *loader) intv(path string, n *yaml.Node) (int, error) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!int" {
		i, err := strconv.Atoi(n.Value)
		if err == nil {
			return i, nil
		}
	}
	return 0, l.errf(n, "%s: %s is not a whole number", path, describe(n))
}

// rng reads a number or a [low, high] pair.
func (l *loader) rng(path string, n *yaml.Node) ([2]float64, error) {
	if n.Kind == yaml.SequenceNode {
		if len(n.Content) != 2 {
			return [2]float64{}, l.errf(n, "%s: a range is [low, high]", path)
		}
		lo, err := l.num(path, n.Content[0])
		if err != nil {
			return [2]float64{}, err
		}
		hi, err := l.num(path, n.Content[1])
		if err != nil {
			return [2]float64{}, err
		}
		if lo > hi {
			return [2]float64{}, l.errf(n, "%s: low %v is above high %v", path, lo, hi)
		}
		return [2]float64{lo, hi}, nil
	}
	f, err := l.num(path, n)
	if err != nil {
		return [2]float64{}, l.errf(n, "%s: %s is not a number or a [low, high] range", path, describe(n))
	}
	return [2]float64{f, f}, nil
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.ScalarNode:
		return strconv.Quote(n.Value)
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return "this value"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest returns ` (did you mean "x"?)` for the closest of names within two edits.
func suggest(s string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := editDistance(strings.ToLower(s), strings.ToLower(n)); d < bestD {
			best, bestD = n, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	// Optimal string alignment: a swap of two neighbours counts as one edit.
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+c)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// ErrNotFound is returned by Find for a name that is neither built in nor in the
// user's folder.
var ErrNotFound = errors.New("scenario not found")

// execError turns an error from executing a template into an *Error at its line.
func (sc *Scenario) execError(name string, line int, literal bool, err error) error {
	l := &loader{file: sc.File}
	style := yaml.Style(0)
	if literal {
		style = yaml.LiteralStyle
	}
	return l.templateError(name, err, &yaml.Node{Line: line, Style: style})
}
