package serve

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/mqttx/mqttx/internal/mqttc"
)

func hash(t *testing.T, pw string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "users.yaml")
	if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

// TestServeUsers checks that --users admits the listed users and refuses everyone else,
// with our client and with mosquitto_pub.
func TestServeUsers(t *testing.T) {
	o := defaults()
	o.UsersFile = writeFile(t, "alice: '"+hash(t, "s3cret")+"'\n")
	o.Output.Verbose = true
	s := startServe(t, o)

	client(t, "mqtt", s.addrs["mqtt"], "ok5", mqttc.V5, func(o *mqttc.Options) {
		o.Username, o.Password, o.HasPassword = "alice", "s3cret", true
	})
	client(t, "mqtt", s.addrs["mqtt"], "ok3", mqttc.V311, func(o *mqttc.Options) {
		o.Username, o.Password, o.HasPassword = "alice", "s3cret", true
	})

	for _, tc := range []struct {
		name     string
		v        mqttc.Version
		user, pw string
	}{
		{"wrong password v5", mqttc.V5, "alice", "nope"},
		{"anonymous v5", mqttc.V5, "", ""},
		{"wrong password v3.1.1", mqttc.V311, "alice", "nope"},
		{"unknown user v3.1.1", mqttc.V311, "mallory", "s3cret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host, port := hostPort(t, s.addrs["mqtt"])
			c, err := mqttc.New(mqttc.Options{Version: tc.v, Host: host, Port: port, ClientID: "bad", CleanStart: true,
				Username: tc.user, Password: tc.pw, HasPassword: tc.pw != ""})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Connect(ctx5(t))
			var re *mqttc.RefusedError
			if !errors.As(err, &re) {
				_ = c.Disconnect(ctx5(t))
				t.Fatalf("connect: %v, want a refusal", err)
			}
		})
	}

	// Refused logins are logged with -v, naming the user.
	want := `client refused id=bad from 127.0.0.1:`
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(s.out.String(), `reason="bad user name or password (user mallory)"`) || !strings.Contains(s.out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no refused login event within 10s; stdout:\n%s", s.out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}

	_, port := hostPort(t, s.addrs["mqtt"])
	runPub(t, "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-u", "alice", "-P", "s3cret", "-t", "t", "-m", "m", "-q", "1")
}
