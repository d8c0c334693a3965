package simulate

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// DeviceConfig identifies one simulated device.
type DeviceConfig struct {
	Index    int    // 1..N
	ClientID string // MQTT client id, also {{.client_id}}
	Seed     uint64 // random source of this device; same seed, same data
	// Topic, when set, replaces the scenario's topic template; %i, %c, %u and %sc have
	// already been substituted (see ExpandTopic).
	Topic string
}

// Device generates one device's messages. It is not safe for concurrent use.
type Device struct {
	sc       *Scenario
	cfg      DeviceConfig
	fn       *funcs
	data     map[string]any
	state    []valueState
	topic    *template.Template // text/template's copies, made when needed
	dynTopic bool               // the topic is a template (else static)
	fm       template.FuncMap
	static   string
	pay      *template.Template
	now      time.Time
	seq      Num
	buf      bytes.Buffer
	tbuf     bytes.Buffer

	// The fast path (see fast.go): the values in slots, and whether the map that
	// text/template reads must be kept current too.
	env     env
	out     []byte
	topicB  []byte
	mapLive bool
}

// valueState is the running state of one values entry.
type valueState struct {
	spec   *valueSpec
	num    Num     // walk, cycle, counter: printed by templates through a *Num
	offset float64 // cycle: this device's spread
	enum   int     // enum: current choice
	boxed  []any   // enum: the choices, boxed once
	slot   int     // index in the device's slots
}

// Message is one generated message. Payload is valid until the device's next Next.
type Message struct {
	Device   int
	ClientID string
	Topic    string
	Payload  []byte
	Time     time.Time
}

// NewDevice makes device cfg.Index of the scenario: it seeds the device's random
// sources, renders the device fields and sets the values to their starting points.
func (sc *Scenario) NewDevice(cfg DeviceConfig) (*Device, error) {
	d := &Device{sc: sc, cfg: cfg, fn: newFuncs(cfg.Seed)}
	d.data = make(map[string]any, len(reserved)+len(sc.device)+len(sc.values))
	d.data[keyDevice] = cfg.Index
	d.data[keyClientID] = cfg.ClientID
	d.data[keyScenario] = sc.Name
	d.seq.D = 0
	d.data[keySeq] = &d.seq
	d.data[keyTime] = &d.now
	d.env.fns = bindFast(d.fn)
	d.env.slots = make([]value, len(sc.slots))
	d.env.slots[0] = value{k: kInt, i: int64(cfg.Index)}
	d.env.slots[1] = str(cfg.ClientID)
	d.env.slots[2] = str(sc.Name)
	d.env.slots[3] = value{k: kNum}
	d.env.slots[4] = value{k: kTime}
	for _, f := range sc.device {
		text, err := d.deviceField(&f)
		if err != nil {
			return nil, err
		}
		d.data[f.name] = text
		d.env.slots[sc.slots[f.name].i] = str(text)
	}
	d.mapLive = sc.fastPayload == nil || (sc.fastTopic == nil && cfg.Topic == "" && strings.Contains(sc.topicText, "{{"))
	d.state = make([]valueState, len(sc.values))
	r := d.fn.r
	uniform := func(lo, hi float64) float64 { return lo + r.Float64()*(hi-lo) }
	for i := range sc.values {
		vs := &sc.values[i]
		st := &d.state[i]
		st.spec = vs
		st.slot = sc.slots[vs.name].i
		st.num.D = vs.decimals
		switch vs.kind {
		case kindWalk, kindCounter:
			st.num.V = uniform(vs.start[0], vs.start[1])
			d.data[vs.name] = &st.num
		case kindCycle:
			st.offset = uniform(-vs.spread, vs.spread)
			d.data[vs.name] = &st.num
		case kindEnum:
			st.boxed = make([]any, len(vs.choices))
			for j, c := range vs.choices {
				st.boxed[j] = c
			}
			st.enum = d.pickEnum(vs)
			d.data[vs.name] = st.boxed[st.enum]
		case kindEvent:
			d.data[vs.name] = false
		}
	}
	switch {
	case cfg.Topic != "":
		d.static = cfg.Topic
	case !strings.Contains(sc.topicText, "{{"):
		d.static = sc.topicText
	default:
		d.dynTopic = true
	}
	if sc.fastPayload == nil || (d.dynTopic && sc.fastTopic == nil) {
		if err := d.slowTemplates(); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// deviceField renders one device field, on the fast path when it compiled.
func (d *Device) deviceField(f *deviceField) (string, error) {
	if f.fast != nil {
		b, err := f.fast.exec(&d.env, d.out[:0])
		d.out = b
		if err == nil {
			return string(b), nil
		}
	}
	t, err := f.tmpl.Clone()
	if err != nil {
		return "", err
	}
	d.buf.Reset()
	if err := t.Funcs(d.funcMap()).Execute(&d.buf, d.data); err != nil {
		return "", d.sc.execError("device."+f.name, f.line, false, err)
	}
	return d.buf.String(), nil
}

// funcMap returns the device's text/template functions, made on first use.
func (d *Device) funcMap() template.FuncMap {
	if d.fm == nil {
		d.fm = d.fn.Map()
	}
	return d.fm
}

// slowTemplates clones the topic and payload templates for this device's functions,
// once, for text/template to run them.
func (d *Device) slowTemplates() error {
	if d.pay != nil {
		return nil
	}
	if d.dynTopic {
		t, err := d.sc.topic.Clone()
		if err != nil {
			return err
		}
		d.topic = t.Funcs(d.funcMap())
	}
	t, err := d.sc.payload.Clone()
	if err != nil {
		return err
	}
	d.pay = t.Funcs(d.funcMap())
	return nil
}

func (d *Device) pickEnum(vs *valueSpec) int {
	x := d.fn.r.Float64() * vs.weights[len(vs.weights)-1]
	for j, w := range vs.weights {
		if x < w {
			return j
		}
	}
	return len(vs.weights) - 1
}

// step advances every value to the message at now. The first message shows the
// starting values of walks, counters and enums.
func (d *Device) step(now time.Time) {
	r := d.fn.r
	later := d.seq.V > 1
	for i := range d.state {
		st := &d.state[i]
		vs := st.spec
		switch vs.kind {
		case kindWalk:
			if later {
				v := st.num.V + (r.Float64()*2-1)*vs.step[1]
				// Reflect at the bounds so the walk stays inside without sticking to them.
				if v > vs.max {
					v = 2*vs.max - v
				}
				if v < vs.min {
					v = 2*vs.min - v
				}
				st.num.V = math.Min(math.Max(v, vs.min), vs.max)
			}
		case kindCycle:
			mid, amp := (vs.min+vs.max)/2, (vs.max-vs.min)/2
			since := timeOfPeriod(now, vs.period) - vs.peak
			v := mid + amp*math.Cos(2*math.Pi*float64(since)/float64(vs.period)) + st.offset
			if vs.noise > 0 {
				v += (r.Float64()*2 - 1) * vs.noise
			}
			st.num.V = math.Min(math.Max(v, vs.min), vs.max)
		case kindCounter:
			if later {
				st.num.V += vs.step[0] + r.Float64()*(vs.step[1]-vs.step[0])
			}
		case kindEnum:
			if later && (vs.stay == 0 || r.Float64() >= vs.stay) {
				st.enum = d.pickEnum(vs)
			}
			d.env.slots[st.slot] = str(vs.choices[st.enum])
			if d.mapLive {
				d.data[vs.name] = st.boxed[st.enum]
			}
			continue
		case kindEvent:
			b := r.Float64() < vs.p
			d.env.slots[st.slot] = value{k: kBool, b: b}
			if d.mapLive {
				d.data[vs.name] = b
			}
			continue
		}
		d.env.slots[st.slot] = value{k: kNum, f: st.num.V, d: st.num.D}
	}
}

// timeOfPeriod is how far now is into its period, counted from local midnight for a
// daily cycle.
func timeOfPeriod(now time.Time, period time.Duration) time.Duration {
	y, m, day := now.Date()
	midnight := time.Date(y, m, day, 0, 0, 0, 0, now.Location())
	since := now.Sub(midnight)
	if period != 24*time.Hour {
		since = time.Duration(now.UnixNano() % int64(period))
	}
	return since
}

// Next generates the device's next message, as at now.
func (d *Device) Next(now time.Time) (Message, error) {
	d.now = now
	d.seq.V++
	d.env.slots[3] = value{k: kNum, f: d.seq.V}
	d.env.slots[4] = value{k: kTime, t: now}
	d.step(now)
	topic := d.static
	if d.dynTopic && d.sc.fastTopic != nil {
		b, err := d.sc.fastTopic.exec(&d.env, d.topicB[:0])
		d.topicB = b
		if err != nil {
			return d.slowNext(now)
		}
		topic = string(b)
	} else if d.dynTopic {
		d.tbuf.Reset()
		if err := d.topic.Execute(&d.tbuf, d.data); err != nil {
			return Message{}, d.sc.execError("topic", d.sc.topicLine, false, err)
		}
		topic = d.tbuf.String()
	}
	var payload []byte
	if d.sc.fastPayload != nil {
		b, err := d.sc.fastPayload.exec(&d.env, d.out[:0])
		d.out = b
		if err != nil {
			return d.slowNext(now)
		}
		payload = b
	} else {
		d.buf.Reset()
		if err := d.pay.Execute(&d.buf, d.data); err != nil {
			return Message{}, d.sc.execError("payload", d.sc.payloadLine, d.sc.payloadLiteral, err)
		}
		payload = d.buf.Bytes()
	}
	if d.sc.JSON {
		payload = joinLines(payload)
	}
	return Message{Device: d.cfg.Index, ClientID: d.cfg.ClientID, Topic: topic, Payload: payload, Time: now}, nil
}

// joinLines removes, in place, every line break with the spaces around it, so a JSON
// payload written over many lines in the scenario goes out on one. A raw line break
// cannot be inside a JSON string, so this never changes a valid document's meaning.
func joinLines(b []byte) []byte {
	if bytes.IndexByte(b, '\n') < 0 {
		return b
	}
	w := 0
	for r := 0; r < len(b); r++ {
		c := b[r]
		if c != '\n' && c != '\r' {
			b[w] = c
			w++
			continue
		}
		for w > 0 && (b[w-1] == ' ' || b[w-1] == '\t') {
			w--
		}
		for r+1 < len(b) && (b[r+1] == ' ' || b[r+1] == '\t' || b[r+1] == '\n' || b[r+1] == '\r') {
			r++
		}
	}
	return b[:w]
}

// slowNext renders the current message with text/template after the fast path failed:
// its error names the line and the fix.
func (d *Device) slowNext(now time.Time) (Message, error) {
	if err := d.slowTemplates(); err != nil {
		return Message{}, err
	}
	d.syncMap()
	topic := d.static
	if d.dynTopic {
		d.tbuf.Reset()
		if err := d.topic.Execute(&d.tbuf, d.data); err != nil {
			return Message{}, d.sc.execError("topic", d.sc.topicLine, false, err)
		}
		topic = d.tbuf.String()
	}
	d.buf.Reset()
	if err := d.pay.Execute(&d.buf, d.data); err != nil {
		return Message{}, d.sc.execError("payload", d.sc.payloadLine, d.sc.payloadLiteral, err)
	}
	payload := d.buf.Bytes()
	if d.sc.JSON {
		payload = joinLines(payload)
	}
	return Message{Device: d.cfg.Index, ClientID: d.cfg.ClientID, Topic: topic, Payload: payload, Time: now}, nil
}

// syncMap brings the map text/template reads up to date with the slots.
func (d *Device) syncMap() {
	for i := range d.state {
		st := &d.state[i]
		switch st.spec.kind {
		case kindEnum:
			d.data[st.spec.name] = st.boxed[st.enum]
		case kindEvent:
			d.data[st.spec.name] = d.env.slots[st.slot].b
		}
	}
}

// Seq returns how many messages the device has generated.
func (d *Device) Seq() int64 { return int64(d.seq.V) }

// ExpandTopic substitutes -t's placeholders: %i device number, %c client id, %u user
// name, %sc scenario name, %% a percent sign.
func ExpandTopic(pattern string, index int, clientID, username, scenario string) string {
	if !strings.Contains(pattern, "%") {
		return pattern
	}
	var b strings.Builder
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		if c != '%' || i+1 == len(pattern) {
			b.WriteByte(c)
			continue
		}
		switch {
		case strings.HasPrefix(pattern[i+1:], "sc"):
			b.WriteString(scenario)
			i += 2
		case pattern[i+1] == 'i':
			b.WriteString(strconv.Itoa(index))
			i++
		case pattern[i+1] == 'c':
			b.WriteString(clientID)
			i++
		case pattern[i+1] == 'u':
			b.WriteString(username)
			i++
		case pattern[i+1] == '%':
			b.WriteByte('%')
			i++
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
