package serve

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"

	"go.yaml.in/yaml/v3"
	"golang.org/x/crypto/bcrypt"
)

// users is a loaded --users file: username -> bcrypt hash.
type users map[string][]byte

// dummyHash is compared against when the username is unknown, so that a wrong username
// costs as much time as a wrong password and does not reveal which names exist. It is
// made on first use: hashing at package init would slow every mqttx command.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("mqttx-unknown-user"), bcrypt.DefaultCost)
	return h
})

// loadUsers reads a YAML mapping of username to bcrypt hash:
//
//	alice: $2a$10$...
//	bob: $2y$10$...      # htpasswd -nbBC 10 "" secret | tr -d ':\n'
func loadUsers(name string) (users, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("users file %s: %v", name, err)
	}
	var raw map[string]string
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&raw); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("users file %s: %v; want lines of \"username: bcrypt-hash\"", name, oneLine(err))
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("users file %s: no users; want lines of \"username: bcrypt-hash\"", name)
	}
	u := make(users, len(raw))
	names := make([]string, 0, len(raw))
	for n := range raw {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		h := []byte(raw[n])
		if n == "" {
			return nil, fmt.Errorf("users file %s: empty username", name)
		}
		if _, err := bcrypt.Cost(h); err != nil {
			return nil, fmt.Errorf("users file %s: user %q: not a bcrypt hash (make one with: htpasswd -nbBC 10 \"\" PASSWORD | tr -d ':\\n')", name, n)
		}
		u[n] = h
	}
	return u, nil
}

// authenticate admits a client whose username is in u and whose password matches its
// hash; anonymous clients and clients without a password are refused.
func (u users) authenticate(_ string, username string, password []byte, hasPassword bool) bool {
	h, ok := u[username]
	if !ok || !hasPassword {
		_ = bcrypt.CompareHashAndPassword(dummyHash(), password)
		return false
	}
	return bcrypt.CompareHashAndPassword(h, password) == nil
}

func oneLine(err error) string {
	s := []byte(err.Error())
	for i, c := range s {
		if c == '\n' {
			s[i] = ' '
		}
	}
	return string(s)
}
