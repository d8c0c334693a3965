package serve

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/broker/listener/listenertest"
	"github.com/mqttx/mqttx/internal/mosquittotest"
	"github.com/mqttx/mqttx/internal/mqttc"
)

const interopACL = `# anonymous clients
topic read public/#

user alice
topic readwrite alice/#
topic read shared/#
topic deny alice/secret

user bob
topic readwrite #

pattern readwrite devices/%c/#
`

// aclOutcome runs the same clients against a broker and returns what alice
// (client id a1, subscribed to #) and bob (subscribed to #) received.
func aclOutcome(t *testing.T, addr string, v mqttc.Version) (alice, bob []string) {
	t.Helper()
	as := func(user, pw string) func(*mqttc.Options) {
		return func(o *mqttc.Options) { o.Username, o.Password, o.HasPassword = user, pw, true }
	}
	a, aMsgs := client(t, "mqtt", addr, "a1", v, as("alice", "a"))
	b, bMsgs := client(t, "mqtt", addr, "b1", v, as("bob", "b"))
	for _, c := range []mqttc.Client{a, b} {
		if _, err := c.Subscribe(ctx5(t), []mqttc.Subscription{{Topic: "#", QoS: 1}}, mqttc.SubscribeOptions{}); err != nil {
			t.Fatalf("subscribe #: %v", err)
		}
	}
	pub := func(c mqttc.Client, topic string) {
		err := c.Publish(ctx5(t), mqttc.Message{Topic: topic, Payload: []byte(topic), QoS: 1})
		var re *mqttc.RefusedError
		if err != nil && !errors.As(err, &re) {
			t.Fatalf("publish %s: %v", topic, err)
		}
	}
	for _, topic := range []string{"other/x", "alice/secret", "alice/x", "shared/y", "devices/a1/up", "devices/b2/up", "public/p", "alice/end"} {
		pub(b, topic)
	}
	for _, topic := range []string{"other/z", "shared/z", "alice/z", "devices/a1/z", "alice/secret", "public/z", "alice/end"} {
		pub(a, topic)
	}
	collect := func(msgs <-chan mqttc.Message, ends int) []string {
		var got []string
		for ends > 0 {
			select {
			case m := <-msgs:
				if m.Topic == "alice/end" {
					ends--
					continue
				}
				got = append(got, m.Topic)
			case <-time.After(5 * time.Second):
				t.Fatalf("no alice/end within 5s; got %v", got)
			}
		}
		slices.Sort(got)
		return got
	}
	return collect(aMsgs, 2), collect(bMsgs, 2)
}

// TestACLInteropMosquitto runs one acl_file and password file in serve and in
// Debian's mosquitto and checks that the same clients receive the same
// messages from both: reading is checked on delivery, so # subscribers get
// only what they may read, and denied publishes reach nobody.
func TestACLInteropMosquitto(t *testing.T) {
	dir := t.TempDir()
	acl := filepath.Join(dir, "acl")
	if err := os.WriteFile(acl, []byte(interopACL), 0o600); err != nil {
		t.Fatal(err)
	}
	passwd := filepath.Join(dir, "passwd")
	for _, u := range [][]string{{"-c", "-b", passwd, "alice", "a"}, {"-b", passwd, "bob", "b"}} {
		if code, errOut := runCLIIn("", append([]string{"serve", "passwd"}, u...)...); code != 0 {
			t.Fatalf("serve passwd: %s", errOut)
		}
	}
	wantAlice := []string{"alice/x", "alice/z", "devices/a1/up", "devices/a1/z", "shared/y"}
	wantBob := []string{"alice/secret", "alice/x", "alice/z", "devices/a1/up", "devices/a1/z", "devices/b2/up", "other/x", "public/p", "shared/y"}

	o := defaults()
	o.UsersFile, o.ACLFile = passwd, acl
	s := startServe(t, o)
	mosq := mosquittotest.Start(t, mosquittotest.WithConfig("allow_anonymous false", "password_file "+passwd, "acl_file "+acl))
	for _, v := range []mqttc.Version{mqttc.V5, mqttc.V311} {
		for name, addr := range map[string]string{"serve": s.addrs["mqtt"], "mosquitto": mosq} {
			alice, bob := aclOutcome(t, addr, v)
			if strings.Join(alice, " ") != strings.Join(wantAlice, " ") {
				t.Errorf("%s v%s: alice received %v, want %v", name, v, alice, wantAlice)
			}
			if strings.Join(bob, " ") != strings.Join(wantBob, " ") {
				t.Errorf("%s v%s: bob received %v, want %v", name, v, bob, wantBob)
			}
		}
	}
}

// TestCertCNAsUsername checks that with --cert-cn-as-username a client with a
// verified certificate is the user its CN names ("client"), whatever
// username it sends: the ACL's section for that user decides what it reads
// and writes.
func TestCertCNAsUsername(t *testing.T) {
	pki := listenertest.New(t)
	acl := filepath.Join(t.TempDir(), "acl")
	os.WriteFile(acl, []byte("user client\ntopic readwrite c/#\nuser eve\ntopic readwrite #\n"), 0o600)
	o := defaults()
	o.TLSPort = 0
	o.Cert, o.Key, o.ClientCA = pki.ServerCert, pki.ServerKey, pki.CAFile
	o.CertCNAsUsername, o.ACLFile = true, acl
	o.Output.Verbose = true
	s := startServe(t, o)
	_, tlsPort := hostPort(t, s.addrs["mqtts"])
	withCert := []string{"-h", "localhost", "-p", strconv.Itoa(tlsPort), "--cafile", pki.CAFile,
		"--cert", pki.ClientCert, "--key", pki.ClientKey, "-u", "eve", "-P", "whatever"}

	wait := startSub(t, append(withCert, "-i", "cn-sub", "-t", "#", "-C", "1")...)
	waitSubscribed(t, s, "cn-sub")
	runPub(t, append(withCert, "-t", "d/x", "-m", "denied")...)
	runPub(t, append(withCert, "-t", "c/x", "-m", "allowed")...)
	if got := wait(); got != "allowed\n" {
		t.Fatalf("got %q, want only the message the CN's ACL section allows", got)
	}
}
