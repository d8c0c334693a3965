package bench

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Template is a topic (or client id) with placeholders, parsed once:
//
//	%i       the connection's index (from the run's start index)
//	%c       the connection's client id
//	%u       the user name
//	%s       the message's sequence number (topics of published messages only)
//	%rand_N  a random number from 1 to N, new for each message
//
// Anything else, including a lone %, is literal text.
type Template struct {
	parts []tpart
	src   string
}

type tpart struct {
	kind byte // 0 literal, 'i', 'c', 'u', 's', 'r'
	lit  string
	n    int // %rand_N's N
}

// ParseTemplate parses s.
func ParseTemplate(s string) (Template, error) {
	t := Template{src: s}
	lit := strings.Builder{}
	flush := func() {
		if lit.Len() > 0 {
			t.parts = append(t.parts, tpart{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '%' || i+1 == len(s) {
			lit.WriteByte(s[i])
			continue
		}
		switch c := s[i+1]; c {
		case 'i', 'c', 'u', 's':
			flush()
			t.parts = append(t.parts, tpart{kind: c})
			i++
			continue
		}
		if strings.HasPrefix(s[i+1:], "rand_") {
			j := i + 6
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			n, err := strconv.Atoi(s[i+6 : j])
			if err != nil || n < 1 {
				return Template{}, fmt.Errorf("invalid placeholder %q in %q: %%rand_N needs a number N of at least 1", s[i:j], s)
			}
			flush()
			t.parts = append(t.parts, tpart{kind: 'r', n: n})
			i = j - 1
			continue
		}
		lit.WriteByte('%')
	}
	flush()
	return t, nil
}

// String returns the template as written.
func (t Template) String() string { return t.src }

// PerMessage reports whether the template changes with each message (%s or %rand_N).
func (t Template) PerMessage() bool {
	for _, p := range t.parts {
		if p.kind == 's' || p.kind == 'r' {
			return true
		}
	}
	return false
}

// Has reports whether the template uses placeholder c ('i', 'c', 'u', 's' or 'r').
func (t Template) Has(c byte) bool {
	for _, p := range t.parts {
		if p.kind == c {
			return true
		}
	}
	return false
}

// Bind resolves the per-connection placeholders.
func (t Template) Bind(index int, clientID, username string) Bound {
	var b Bound
	var lit []byte
	for _, p := range t.parts {
		switch p.kind {
		case 0:
			lit = append(lit, p.lit...)
		case 'i':
			lit = strconv.AppendInt(lit, int64(index), 10)
		case 'c':
			lit = append(lit, clientID...)
		case 'u':
			lit = append(lit, username...)
		default:
			if len(lit) > 0 {
				b.parts = append(b.parts, tpart{lit: string(lit)})
				lit = lit[:0]
			}
			b.parts = append(b.parts, p)
		}
	}
	if len(lit) > 0 {
		b.parts = append(b.parts, tpart{lit: string(lit)})
	}
	return b
}

// Expand returns the template with every placeholder resolved for connection index
// (%s is 0, %rand_N its N).
func (t Template) Expand(index int, clientID, username string) string {
	b := t.Bind(index, clientID, username)
	return string(b.Append(nil, 0, nil))
}

// Filter returns a topic filter matching every topic the template can produce: a
// level holding a placeholder becomes +.
func (t Template) Filter() string {
	levels := strings.Split(t.src, "/")
	for i, l := range levels {
		lt, _ := ParseTemplate(l)
		for _, p := range lt.parts {
			if p.kind != 0 {
				levels[i] = "+"
				break
			}
		}
	}
	return strings.Join(levels, "/")
}

// Bound is a Template whose per-connection placeholders are resolved.
type Bound struct{ parts []tpart }

// Append appends the expansion for message seq to dst; rnd draws %rand_N (nil: N).
func (b *Bound) Append(dst []byte, seq uint64, rnd *rand.Rand) []byte {
	for i := range b.parts {
		p := &b.parts[i]
		switch p.kind {
		case 0:
			dst = append(dst, p.lit...)
		case 's':
			dst = strconv.AppendUint(dst, seq, 10)
		case 'r':
			v := p.n
			if rnd != nil {
				v = 1 + rnd.IntN(p.n)
			}
			dst = strconv.AppendInt(dst, int64(v), 10)
		}
	}
	return dst
}
