package auth

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// Users is a loaded users file: username -> password hash.
type Users struct {
	hashes map[string]*hash
	// dummy is compared against when a username is unknown or gives no
	// password, so that the answer takes as long as for a known user and does
	// not tell which names exist. It has the kind and cost most users have,
	// and is made on first use: a bcrypt hash takes a while.
	dummyOf *hash
	dummy   func() *hash
}

// Len returns the number of users.
func (u *Users) Len() int { return len(u.hashes) }

// Check reports whether username exists and password matches its hash. An
// unknown user or a missing password costs a comparison against a dummy hash
// of the same kind and cost.
func (u *Users) Check(username string, password []byte, hasPassword bool) bool {
	h, ok := u.hashes[username]
	if !ok || !hasPassword {
		u.dummy().verify(password)
		return false
	}
	return h.verify(password)
}

// LoadUsers reads a users file in either form:
//
//	alice:$7$101$...      # mosquitto's password file (mosquitto_passwd, mqttx serve passwd)
//	alice: $2y$10$...     # YAML: username: hash
//
// Hashes may be mosquitto's $7$ (PBKDF2-SHA512) and $6$ (SHA-512) or bcrypt.
func LoadUsers(name string) (*Users, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("users file %s: %v", name, pathErr(err))
	}
	u, err := ParseUsers(b)
	if err != nil {
		return nil, fmt.Errorf("users file %s: %w", name, err)
	}
	return u, nil
}

// ParseUsers parses the contents of a users file (see LoadUsers).
func ParseUsers(b []byte) (*Users, error) {
	var (
		names []string
		raw   map[string]string
		lines map[string]int
		err   error
	)
	if isPasswdFormat(b) {
		names, raw, lines, err = parsePasswdLines(b)
	} else {
		names, raw, lines, err = parseYAMLUsers(b)
	}
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, errors.New("no users; add one with: mqttx serve passwd FILE USER")
	}
	u := &Users{hashes: make(map[string]*hash, len(names))}
	count := map[string]int{}
	for _, n := range names {
		h, err := parseHash(raw[n])
		if err != nil {
			where := ""
			if l := lines[n]; l > 0 {
				where = fmt.Sprintf("line %d: ", l)
			}
			return nil, fmt.Errorf("%suser %q: %v; set its password with: mqttx serve passwd FILE %s", where, n, err, n)
		}
		u.hashes[n] = h
		count[h.params()]++
		if u.dummyOf == nil || count[h.params()] > count[u.dummyOf.params()] {
			u.dummyOf = h
		}
	}
	u.dummy = sync.OnceValue(u.dummyOf.dummy)
	return u, nil
}

// isPasswdFormat tells mosquitto's "user:hash" lines from YAML, whose
// mappings put a space after the colon.
func isPasswdFormat(b []byte) bool {
	seen := false
	for line := range strings.Lines(string(b)) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		if line == "---" || line[0] == '-' || line[0] == '{' || line[0] == '"' || line[0] == '\'' ||
			strings.Contains(line, ": ") || strings.Contains(line, ":\t") || strings.HasSuffix(line, ":") {
			return false
		}
		seen = true
	}
	return seen
}

// parsePasswdLines reads mosquitto's password file: "username:hash" per line,
// blank lines and lines starting with # ignored.
func parsePasswdLines(b []byte) (names []string, raw map[string]string, lines map[string]int, err error) {
	raw, lines = map[string]string{}, map[string]int{}
	n := 0
	for line := range strings.Lines(string(b)) {
		n++
		line = strings.TrimRight(line, "\r\n")
		if t := strings.TrimSpace(line); t == "" || t[0] == '#' {
			continue
		}
		name, h, ok := strings.Cut(line, ":")
		if !ok || name == "" {
			return nil, nil, nil, fmt.Errorf("line %d: want username:hash", n)
		}
		if _, dup := raw[name]; dup {
			return nil, nil, nil, fmt.Errorf("line %d: user %q appears twice; keep one line", n, name)
		}
		names = append(names, name)
		raw[name] = strings.TrimSpace(h)
		lines[name] = n
	}
	return names, raw, lines, nil
}

// parseYAMLUsers reads mqttx's earlier form, a YAML mapping of username to hash.
func parseYAMLUsers(b []byte) (names []string, raw map[string]string, lines map[string]int, err error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&raw); err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, nil, fmt.Errorf("%s; want lines of \"username:hash\" (mosquitto_passwd) or \"username: hash\" (YAML)", oneLine(err))
	}
	for n := range raw {
		if n == "" {
			return nil, nil, nil, errors.New("empty username")
		}
		names = append(names, n)
	}
	sort.Strings(names)
	return names, raw, nil, nil
}

func oneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", " ")
}

// pathErr drops the file name an *os.PathError repeats.
func pathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
