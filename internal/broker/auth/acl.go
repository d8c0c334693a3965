package auth

import (
	"fmt"
	"os"
	"strings"

	"github.com/mqttx/mqttx/internal/packet"
)

// Access is what an ACL rule grants.
type Access uint8

// Access kinds of mosquitto's acl_file; a deny rule has none.
const (
	Read      Access = 1
	Write     Access = 2
	ReadWrite        = Read | Write
)

// rule is one topic or pattern line.
type rule struct {
	filter  string
	access  Access // 0: deny
	pattern bool   // %c and %u are substituted
	hasUser bool   // pattern mentions %u: skipped for anonymous clients
}

// ACL is a parsed acl_file in mosquitto's syntax:
//
//	# anonymous clients (topic lines before the first user line)
//	topic read public/#
//	user alice
//	topic readwrite alice/#
//	topic deny alice/secret
//	pattern write devices/%c/state
//	pattern read users/%u/#
//
// As in mosquitto, deny rules come first within each list, a client's own list
// (its user section, or the anonymous lines) is checked before the patterns,
// and whatever no rule allows is denied.
type ACL struct {
	// The rules as listed (deny first), for MaySubscribe.
	anon     []rule
	users    map[string][]rule
	patterns []rule
	// The same rules indexed by first topic level, for Allowed, which runs
	// on every publish and delivery.
	anonIdx    ruleIndex
	usersIdx   map[string]*ruleIndex
	patternIdx ruleIndex
}

// ruleIndex holds rules by their filter's first level; a first level that is
// a wildcard or holds %c/%u puts a rule in any. Deny and allow rules are kept
// apart: a matching deny rule wins whatever the order, as deny rules come
// first in mosquitto's lists.
type ruleIndex struct {
	deny, allow       map[string][]rule
	denyAny, allowAny []rule
}

func (x *ruleIndex) add(r rule) {
	first, _, _ := strings.Cut(r.filter, "/")
	dynamic := first == "+" || first == "#" || (r.pattern && strings.Contains(first, "%"))
	switch {
	case r.access == 0 && dynamic:
		x.denyAny = append(x.denyAny, r)
	case r.access == 0:
		if x.deny == nil {
			x.deny = map[string][]rule{}
		}
		x.deny[first] = append(x.deny[first], r)
	case dynamic:
		x.allowAny = append(x.allowAny, r)
	default:
		if x.allow == nil {
			x.allow = map[string][]rule{}
		}
		x.allow[first] = append(x.allow[first], r)
	}
}

func (x *ruleIndex) empty() bool {
	return len(x.deny) == 0 && len(x.allow) == 0 && len(x.denyAny) == 0 && len(x.allowAny) == 0
}

// decide reports whether a rule allows want on topic and whether one denies
// it. It runs on every publish and delivery: plain loops, no closures.
func (x *ruleIndex) decide(first, topic, clientID, username string, want Access) (allow, deny bool) {
	if len(x.deny) > 0 {
		if x.anyMatch(x.deny[first], topic, clientID, username, 0) {
			return false, true
		}
	}
	if x.anyMatch(x.denyAny, topic, clientID, username, 0) {
		return false, true
	}
	if len(x.allow) > 0 {
		if x.anyMatch(x.allow[first], topic, clientID, username, want) {
			return true, false
		}
	}
	return x.anyMatch(x.allowAny, topic, clientID, username, want), false
}

// anyMatch reports whether a rule of l matches topic and grants want (any
// rule, for deny lists: want 0).
func (x *ruleIndex) anyMatch(l []rule, topic, clientID, username string, want Access) bool {
	for i := range l {
		r := &l[i]
		if want != 0 && r.access&want == 0 {
			continue
		}
		if r.pattern {
			if (!r.hasUser || username != "") && matchPattern(r.filter, topic, clientID, username) {
				return true
			}
		} else if packet.MatchTopic(r.filter, topic) {
			return true
		}
	}
	return false
}

// LoadACL reads an acl_file.
func LoadACL(name string) (*ACL, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("acl file %s: %v", name, pathErr(err))
	}
	a, err := ParseACL(b)
	if err != nil {
		return nil, fmt.Errorf("acl file %s: %w", name, err)
	}
	return a, nil
}

// ParseACL parses the contents of an acl_file.
func ParseACL(b []byte) (*ACL, error) {
	a := &ACL{users: map[string][]rule{}}
	sections := map[string]*[]rule{}
	list := &a.anon
	n := 0
	for line := range strings.Lines(string(b)) {
		n++
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		var kw, rest string
		if i := strings.IndexAny(line, " \t"); i >= 0 {
			kw, rest = line[:i], strings.TrimSpace(line[i+1:])
		} else {
			kw, rest = line, ""
		}
		switch kw {
		case "user":
			if rest == "" {
				return nil, fmt.Errorf("line %d: user without a name; write: user NAME", n)
			}
			if sections[rest] == nil {
				sections[rest] = new([]rule)
			}
			list = sections[rest]
		case "topic", "pattern":
			r, err := parseRule(rest)
			if err != nil {
				return nil, fmt.Errorf("line %d: %v", n, err)
			}
			if kw == "pattern" {
				r.pattern = true
				r.hasUser = strings.Contains(r.filter, "%u")
				a.patterns = addRule(a.patterns, r)
			} else {
				*list = addRule(*list, r)
			}
		default:
			return nil, fmt.Errorf("line %d: unknown keyword %q; want topic, pattern or user", n, kw)
		}
	}
	for _, r := range a.anon {
		a.anonIdx.add(r)
	}
	for _, r := range a.patterns {
		a.patternIdx.add(r)
	}
	a.usersIdx = make(map[string]*ruleIndex, len(sections))
	for name, l := range sections {
		a.users[name] = *l
		x := &ruleIndex{}
		for _, r := range *l {
			x.add(r)
		}
		a.usersIdx[name] = x
	}
	return a, nil
}

// parseRule reads "[read|write|readwrite|deny] FILTER".
func parseRule(s string) (rule, error) {
	if s == "" {
		return rule{}, fmt.Errorf("empty topic; write: topic [read|write|readwrite|deny] FILTER")
	}
	r := rule{filter: s, access: ReadWrite}
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		word, f := s[:i], strings.TrimSpace(s[i+1:])
		switch word {
		case "read":
			r.access = Read
		case "write":
			r.access = Write
		case "readwrite":
			r.access = ReadWrite
		case "deny":
			r.access = 0
		default:
			return rule{}, fmt.Errorf("unknown access %q; want read, write, readwrite or deny", word)
		}
		r.filter = f
	}
	if !packet.ValidTopicFilter(r.filter) {
		return rule{}, fmt.Errorf("invalid topic filter %q", r.filter)
	}
	return r, nil
}

// addRule appends r, or puts it in front when it denies.
func addRule(l []rule, r rule) []rule {
	if r.access == 0 {
		return append([]rule{r}, l...)
	}
	return append(l, r)
}

// Allowed reports whether the client may publish (Write) or receive (Read) on
// topic. username "" is an anonymous client.
func (a *ACL) Allowed(clientID, username, topic string, want Access) bool {
	first, _, _ := strings.Cut(topic, "/")
	list := &a.anonIdx
	if username != "" {
		list = a.usersIdx[username]
	}
	if list != nil {
		// A deny here ends the client's own list; the patterns may still
		// allow, as in mosquitto.
		if allow, _ := list.decide(first, topic, clientID, username, want); allow {
			return true
		}
	}
	if a.patternIdx.empty() || !substitutable(clientID) || !substitutable(username) {
		return false
	}
	allow, _ := a.patternIdx.decide(first, topic, clientID, username, want)
	return allow
}

// MaySubscribe reports whether filter can match a topic the client may read:
// some read rule overlaps it and no deny rule covers it. Messages on topics it
// may not read are still held back on delivery.
func (a *ACL) MaySubscribe(clientID, username, filter string) bool {
	list := a.anon
	if username != "" {
		list = a.users[username]
	}
	for _, r := range list {
		if r.access == 0 && covers(r.filter, filter) {
			break // as in Allowed: patterns may still allow
		}
		if r.access&Read != 0 && overlaps(r.filter, filter) {
			return true
		}
	}
	if !substitutable(clientID) || !substitutable(username) {
		return false
	}
	for _, r := range a.patterns {
		if r.hasUser && username == "" {
			continue
		}
		f, good := expand(r.filter, clientID, username)
		if !good {
			continue
		}
		if r.access == 0 && covers(f, filter) {
			return false
		}
		if r.access&Read != 0 && overlaps(f, filter) {
			return true
		}
	}
	return false
}

// substitutable reports whether a client id or username may replace %c or %u:
// a wildcard in it would widen the pattern, so mosquitto denies such clients.
func substitutable(s string) bool { return !strings.ContainsAny(s, "+#") }

// expand substitutes %c and %u in a pattern; false when a value would add a
// topic level.
func expand(p, clientID, username string) (string, bool) {
	if strings.Contains(clientID, "/") && strings.Contains(p, "%c") ||
		strings.Contains(username, "/") && strings.Contains(p, "%u") {
		return "", false
	}
	return strings.NewReplacer("%c", clientID, "%u", username).Replace(p), true
}

// matchPattern is packet.MatchTopic(expand(p, c, u), topic) without building
// the expanded filter: it runs on every delivery.
func matchPattern(p, topic, clientID, username string) bool {
	if len(topic) > 0 && topic[0] == '$' && len(p) > 0 && (p[0] == '+' || p[0] == '#') {
		return false
	}
	for {
		if p == "#" {
			return true
		}
		pl, prest, pmore := strings.Cut(p, "/")
		tl, trest, tmore := strings.Cut(topic, "/")
		if pl != "+" && !levelEqual(pl, tl, clientID, username) {
			return false
		}
		if !pmore && !tmore {
			return true
		}
		if !pmore {
			return false
		}
		if !tmore {
			return prest == "#"
		}
		p, topic = prest, trest
	}
}

// levelEqual compares one pattern level, with %c and %u substituted, to a topic level.
func levelEqual(pl, tl, clientID, username string) bool {
	for len(pl) > 0 {
		i := strings.IndexByte(pl, '%')
		if i < 0 || i+1 >= len(pl) || (pl[i+1] != 'c' && pl[i+1] != 'u') {
			if i < 0 || i+1 >= len(pl) {
				return pl == tl
			}
			// A % that is not %c or %u stands for itself.
			if !strings.HasPrefix(tl, pl[:i+1]) {
				return false
			}
			pl, tl = pl[i+1:], tl[i+1:]
			continue
		}
		if !strings.HasPrefix(tl, pl[:i]) {
			return false
		}
		tl = tl[i:]
		v := clientID
		if pl[i+1] == 'u' {
			v = username
		}
		if strings.Contains(v, "/") || !strings.HasPrefix(tl, v) {
			return false
		}
		pl, tl = pl[i+2:], tl[len(v):]
	}
	return tl == ""
}

// overlaps reports whether some topic matches both filters.
func overlaps(a, b string) bool {
	if dollarMismatch(a, b) || dollarMismatch(b, a) {
		return false
	}
	for {
		if a == "#" || b == "#" {
			return true
		}
		al, arest, amore := strings.Cut(a, "/")
		bl, brest, bmore := strings.Cut(b, "/")
		if al != "+" && bl != "+" && al != bl {
			return false
		}
		switch {
		case !amore && !bmore:
			return true
		case !amore:
			return brest == "#"
		case !bmore:
			return arest == "#"
		}
		a, b = arest, brest
	}
}

// dollarMismatch: a filter starting with a wildcard matches no $ topic.
func dollarMismatch(a, b string) bool {
	return len(a) > 0 && (a[0] == '+' || a[0] == '#') && len(b) > 0 && b[0] == '$'
}

// covers reports whether every topic that f matches is matched by d.
func covers(d, f string) bool {
	if dollarMismatch(d, f) {
		return false
	}
	for {
		if d == "#" {
			return true
		}
		dl, drest, dmore := strings.Cut(d, "/")
		fl, frest, fmore := strings.Cut(f, "/")
		if fl == "#" || (dl != "+" && dl != fl) {
			return false
		}
		switch {
		case !dmore && !fmore:
			return true
		case !fmore:
			return drest == "#"
		case !dmore:
			return false
		}
		d, f = drest, frest
	}
}
