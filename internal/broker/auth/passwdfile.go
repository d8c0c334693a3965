package auth

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ValidUsername checks a username for mosquitto's password file: not empty,
// no ':' (the separator), no control characters, valid UTF-8.
func ValidUsername(u string) error {
	switch {
	case u == "":
		return errors.New("empty username")
	case strings.Contains(u, ":"):
		return fmt.Errorf("username %q contains ':', which separates it from the hash", u)
	case !utf8.ValidString(u) || strings.ContainsFunc(u, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return fmt.Errorf("username %q holds control characters or is not UTF-8", u)
	case len(u) > 65535:
		return errors.New("username longer than 65535 bytes")
	}
	return nil
}

// SetPassword returns password file b with user's hash set: its line replaced
// in place, or a line added at the end. Other lines are kept as they are.
func SetPassword(b []byte, user, hash string) ([]byte, error) {
	if err := checkEditable(b); err != nil {
		return nil, err
	}
	var out strings.Builder
	found := false
	for line := range strings.Lines(string(b)) {
		if name, _, ok := strings.Cut(strings.TrimRight(line, "\r\n"), ":"); ok && name == user && !found {
			found = true
			out.WriteString(user + ":" + hash + "\n")
			continue
		}
		out.WriteString(line)
		if !strings.HasSuffix(line, "\n") {
			out.WriteString("\n")
		}
	}
	if !found {
		out.WriteString(user + ":" + hash + "\n")
	}
	return []byte(out.String()), nil
}

// DeleteUser returns password file b without user's line; found is false
// when the file has no such user.
func DeleteUser(b []byte, user string) (out []byte, found bool, err error) {
	if err := checkEditable(b); err != nil {
		return nil, false, err
	}
	var sb strings.Builder
	for line := range strings.Lines(string(b)) {
		if name, _, ok := strings.Cut(strings.TrimRight(line, "\r\n"), ":"); ok && name == user {
			found = true
			continue
		}
		sb.WriteString(line)
	}
	return []byte(sb.String()), found, nil
}

// checkEditable refuses to edit the YAML form as if it were mosquitto's.
func checkEditable(b []byte) error {
	for line := range strings.Lines(string(b)) {
		if t := strings.TrimSpace(line); t != "" && t[0] != '#' {
			if !isPasswdFormat(b) {
				return errors.New("not in mosquitto's user:hash format (a YAML users file?); start a new file with -c")
			}
			return nil
		}
	}
	return nil
}
