package auth

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func bcryptHash(t *testing.T, pw string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func pbkdf2Hash(t *testing.T, pw string) string {
	t.Helper()
	h, err := HashPassword([]byte(pw))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "users")
	if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestLoadUsersErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	tests := []struct {
		name, file string
		want       []string
	}{
		{"missing", missing, []string{"users file " + missing, "no such file"}},
		{"empty", writeFile(t, ""), []string{"no users", "mqttx serve passwd"}},
		{"comments only", writeFile(t, "# nobody\n\n"), []string{"no users"}},
		{"not a mapping", writeFile(t, "- alice\n- bob\n"), []string{"username:hash"}},
		{"plain password yaml", writeFile(t, "alice: secret\n"), []string{`user "alice": not a password hash`, "mqttx serve passwd FILE alice"}},
		{"plain password passwd", writeFile(t, "alice:secret\n"), []string{`line 1: user "alice": not a password hash`}},
		{"bad $7$", writeFile(t, "alice:$7$x$abc$def\n"), []string{"line 1", "iteration count"}},
		{"bad $7$ base64", writeFile(t, "bob:$7$101$!!$!!\n"), []string{"not base64"}},
		{"bad bcrypt", writeFile(t, "alice:$2y$99$short\n"), []string{"bcrypt"}},
		{"duplicate", writeFile(t, "alice:"+pbkdf2Hash(t, "a")+"\nalice:"+pbkdf2Hash(t, "b")+"\n"), []string{"line 2", "twice"}},
		{"no name", writeFile(t, ":"+pbkdf2Hash(t, "a")+"\n"), []string{"line 1", "username:hash"}},
		{"bad yaml", writeFile(t, "alice: [\n"), []string{"users file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadUsers(tt.file)
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// A file written by Debian's mosquitto_passwd 2.0.11 (password "secret" for
// alice, $7$ PBKDF2-SHA512) and an older one's $6$ line (password "pw").
const mosquittoFile = `alice:$7$101$6q72Mb+YnQxUK39g$Ih0mXKaQE9iZY369H5pF9oABhVcZrUWYSzbvP1UYhMtzz2WrOC7YUc+BjfqoBP/2R67hmhmpDHmEelkbYf4nzQ==
bob:$6$LzJsGSyHM6UJftXk$u43sYTDoHbLbzs5WPzjjFgj/DhmYqV817IkSNtJxnct3SOqpwZmey9+RCTijlBxDS8vQ7ZOzjnefe6GEwjzBBA==
`

func TestUsersCheck(t *testing.T) {
	// htpasswd writes $2y$ hashes; Go's bcrypt writes $2a$. Both must work.
	y := strings.Replace(bcryptHash(t, "pw-bob"), "$2a$", "$2y$", 1)
	yaml := "alice: " + strconv.Quote(bcryptHash(t, "pw-alice")) + "\nbob: '" + y + "'\n"
	passwd := "# users\nalice:" + pbkdf2Hash(t, "pw-alice") + "\n\nbob:" + y + "\r\n"
	for name, content := range map[string]string{"yaml": yaml, "passwd": passwd} {
		t.Run(name, func(t *testing.T) {
			u, err := ParseUsers([]byte(content))
			if err != nil {
				t.Fatal(err)
			}
			if u.Len() != 2 {
				t.Fatalf("%d users, want 2", u.Len())
			}
			tests := []struct {
				user, pw string
				hasPW    bool
				ok       bool
			}{
				{"alice", "pw-alice", true, true},
				{"bob", "pw-bob", true, true},
				{"alice", "pw-bob", true, false},
				{"alice", "", false, false},
				{"alice", "pw-alice", false, false},
				{"carol", "pw-alice", true, false},
				{"", "", false, false},
			}
			for _, tt := range tests {
				if got := u.Check(tt.user, []byte(tt.pw), tt.hasPW); got != tt.ok {
					t.Errorf("Check(%q, %q, %v) = %v, want %v", tt.user, tt.pw, tt.hasPW, got, tt.ok)
				}
			}
		})
	}
}

func TestMosquittoHashes(t *testing.T) {
	u, err := ParseUsers([]byte(mosquittoFile))
	if err != nil {
		t.Fatal(err)
	}
	if !u.Check("alice", []byte("secret"), true) || u.Check("alice", []byte("Secret"), true) {
		t.Fatal("mosquitto_passwd's $7$ hash not checked right")
	}
	if !u.Check("bob", []byte("pw"), true) || u.Check("bob", []byte("pw "), true) {
		t.Fatal("mosquitto_passwd -H sha512's $6$ hash not checked right")
	}
}

func TestDummyHashMatchesKind(t *testing.T) {
	u, err := ParseUsers([]byte("a:" + pbkdf2Hash(t, "x") + "\nb:" + pbkdf2Hash(t, "y") + "\nc:" + bcryptHash(t, "z") + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	d := u.dummy()
	if d.kind != kindPBKDF2 || d.iter != PBKDF2Iterations || len(d.sum) != pbkdf2Len {
		t.Fatalf("dummy hash %s, want the kind most users have (%s)", d.params(), u.hashes["a"].params())
	}
	u, err = ParseUsers([]byte("c:" + bcryptHash(t, "z") + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if d := u.dummy(); d.kind != kindBcrypt || d.cost != bcrypt.MinCost {
		t.Fatalf("dummy hash %s, want bcrypt/%d", d.params(), bcrypt.MinCost)
	}
}

func TestPolicyAuthenticate(t *testing.T) {
	u, err := ParseUsers([]byte("alice:" + pbkdf2Hash(t, "pw") + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	anon := &Login{ClientID: "c"}
	alice := &Login{ClientID: "c", Username: "alice", HasUsername: true, Password: []byte("pw"), HasPassword: true}
	wrong := &Login{ClientID: "c", Username: "alice", HasUsername: true, Password: []byte("no"), HasPassword: true}
	stranger := &Login{ClientID: "c", Username: "eve", HasUsername: true}
	for _, tt := range []struct {
		name string
		p    Policy
		l    *Login
		ok   bool
	}{
		{"no users file admits anyone", Policy{}, stranger, true},
		{"users file refuses anonymous", Policy{Users: u}, anon, false},
		{"allow anonymous", Policy{Users: u, AllowAnonymous: true}, anon, true},
		{"allow anonymous still checks a username", Policy{Users: u, AllowAnonymous: true}, stranger, false},
		{"wrong password", Policy{Users: u, AllowAnonymous: true}, wrong, false},
		{"right password", Policy{Users: u}, alice, true},
		{"certificate without the option", Policy{Users: u}, &Login{ClientID: "c", CertCN: "dev1"}, false},
		{"certificate CN as username", Policy{Users: u, CertCNAsUsername: true}, &Login{ClientID: "c", Username: "eve", HasUsername: true, CertCN: "dev1"}, true},
	} {
		if got := tt.p.Authenticate(tt.l); got != tt.ok {
			t.Errorf("%s: Authenticate = %v, want %v", tt.name, got, tt.ok)
		}
		if tt.l.CertCN != "" && tt.p.CertCNAsUsername && (tt.l.Username != tt.l.CertCN || !tt.l.HasUsername) {
			t.Errorf("%s: username %q, want the CN %q", tt.name, tt.l.Username, tt.l.CertCN)
		}
	}
}

// FuzzParseUsers checks that the users file parser never panics, reports
// errors on one line, and that every user it accepts has a hash that checks.
func FuzzParseUsers(f *testing.F) {
	f.Add([]byte(mosquittoFile))
	f.Add([]byte("alice: '$2a$04$abcdefghijklmnopqrstuu8ZrVSZ4XoNWWGnyb7aOb9H3fmgPdbbK'\n"))
	f.Add([]byte("# c\n\nbob:$6$c2FsdA==$" + strings.Repeat("A", 86) + "==\n"))
	f.Add([]byte("x:$7$1$YQ$YQ\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := ParseUsers(b)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error spans lines: %q", err)
			}
			return
		}
		if u.Len() == 0 {
			t.Fatal("no users and no error")
		}
		for name, h := range u.hashes {
			if name == "" || h == nil {
				t.Fatalf("user %q hash %v", name, h)
			}
			// Checking costs what the hash says; keep the fuzzer fast.
			if (h.kind == kindBcrypt && h.cost <= 5) || (h.kind == kindPBKDF2 && h.iter <= 1000) || h.kind == kindSHA512 {
				if h.verify([]byte("not the password\x00")) && h.verify([]byte("another one")) {
					t.Fatalf("user %q: two passwords match", name)
				}
			}
		}
	})
}

// BenchmarkCheck measures a login of a known user with a wrong password
// against one of an unknown user: the two should take the same time, so
// that timing does not tell which usernames exist.
func BenchmarkCheck(b *testing.B) {
	for _, kind := range []string{"pbkdf2", "bcrypt10"} {
		var h string
		if kind == "pbkdf2" {
			h, _ = HashPassword([]byte("pw"))
		} else {
			hb, _ := bcrypt.GenerateFromPassword([]byte("pw"), 10)
			h = string(hb)
		}
		u, err := ParseUsers([]byte("alice:" + h + "\n"))
		if err != nil {
			b.Fatal(err)
		}
		u.dummy() // made once, on first use
		for _, user := range []string{"alice", "mallory"} {
			b.Run(kind+"/"+user, func(b *testing.B) {
				for b.Loop() {
					u.Check(user, []byte("wrong"), true)
				}
			})
		}
	}
}
