package pub

import (
	"reflect"
	"strings"
	"testing"

	"github.com/mqttx/mqttx/internal/cli/cmdutil/cmdtest"
	"github.com/mqttx/mqttx/internal/mqttc"
)

// parse runs the pub command's flag parsing and validation, stopping before run.
func parse(t *testing.T, args ...string) (*options, error) {
	t.Helper()
	return cmdtest.Parse(t, NewCmd, args...)
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"message", []string{"-t", "a/b", "-m", "hi"}, ""},
		{"file", []string{"-t", "a", "-f", "x.json"}, ""},
		{"stdin", []string{"-t", "a", "-s"}, ""},
		{"lines", []string{"-t", "a", "-M"}, ""},
		{"null", []string{"-t", "a", "-n", "-r"}, ""},
		{"empty message is a message", []string{"-t", "a", "-m", ""}, ""},
		{"qos 2 count 3", []string{"-t", "a", "-m", "x", "-q", "2", "-C", "3"}, ""},
		{"url topic", []string{"-L", "mqtt://localhost:1883/from/url", "-m", "x"}, ""},
		{"v5 properties", []string{"-t", "a", "-m", "x", "--content-type", "text/plain", "--user-property", "a=b", "--topic-alias", "3"}, ""},
		{"no topic", []string{"-m", "x"}, "missing --topic"},
		{"empty topic", []string{"-t", "", "-m", "x"}, "invalid --topic: the topic must not be empty"},
		{"wildcard +", []string{"-t", "a/+", "-m", "x"}, "invalid --topic a/+: topic names cannot contain wildcards"},
		{"wildcard #", []string{"-t", "#", "-m", "x"}, "topic names cannot contain wildcards"},
		{"qos 3", []string{"-t", "a", "-m", "x", "-q", "3"}, "invalid --qos 3: must be 0, 1 or 2"},
		{"qos -1", []string{"-t", "a", "-m", "x", "-q", "-1"}, "invalid --qos -1"},
		{"no message", []string{"-t", "a"}, "missing message"},
		{"two sources", []string{"-t", "a", "-m", "x", "-s"}, "conflicting --message and --stdin"},
		{"count 0", []string{"-t", "a", "-m", "x", "-C", "0"}, "invalid --count 0"},
		{"topic alias 0", []string{"-t", "a", "-m", "x", "--topic-alias", "0"}, "invalid --topic-alias 0"},
		{"bad user property", []string{"-t", "a", "-m", "x", "--user-property", "nokey"}, `invalid --user-property "nokey"`},
		{"bad output", []string{"-t", "a", "-m", "x", "-o", "yaml"}, "invalid --output yaml"},
		{"positional", []string{"-t", "a", "-m", "x", "extra"}, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, tt.args...)
			cmdtest.CheckUsageError(t, err, tt.wantErr)
		})
	}
}

func TestURLTopic(t *testing.T) {
	o, err := parse(t, "-L", "mqtt://localhost/from/url", "-m", "x")
	if err != nil {
		t.Fatal(err)
	}
	if o.Topic != "from/url" {
		t.Errorf("topic %q, want from/url", o.Topic)
	}
	o, err = parse(t, "-L", "mqtt://localhost/from/url", "-t", "flag/wins", "-m", "x")
	if err != nil {
		t.Fatal(err)
	}
	if o.Topic != "flag/wins" {
		t.Errorf("topic %q, want flag/wins", o.Topic)
	}
}

func TestProperties(t *testing.T) {
	o, err := parse(t, "-t", "a", "-m", "x")
	if err != nil {
		t.Fatal(err)
	}
	if p := o.properties(); p != nil {
		t.Errorf("no property flags: got %+v, want nil", p)
	}
	o, err = parse(t, "-t", "a", "-m", "x",
		"--message-expiry-interval", "60", "--content-type", "application/json",
		"--response-topic", "r/1", "--correlation-data", "id-7", "--payload-format-indicator",
		"--topic-alias", "2", "--user-property", "k=v", "--user-property", "k=w")
	if err != nil {
		t.Fatal(err)
	}
	expiry, format, alias := uint32(60), byte(1), uint16(2)
	want := &mqttc.PublishProperties{
		PayloadFormat: &format, MessageExpiry: &expiry, TopicAlias: &alias,
		ResponseTopic: "r/1", CorrelationData: []byte("id-7"), ContentType: "application/json",
		UserProperties: []mqttc.UserProperty{{Key: "k", Value: "v"}, {Key: "k", Value: "w"}},
	}
	if got := o.properties(); !reflect.DeepEqual(got, want) {
		t.Errorf("properties:\n got %+v\nwant %+v", got, want)
	}
}

func TestConnOptionsResolvedLazily(t *testing.T) {
	o, err := parse(t, "-t", "a", "-m", "x", "-h", "broker.test", "-p", "1999", "-V", "3.1.1", "-i", "me")
	if err != nil {
		t.Fatal(err)
	}
	co, err := o.ConnOptions()
	if err != nil {
		t.Fatal(err)
	}
	if co.Host != "broker.test" || co.Port != 1999 || co.Version != mqttc.V311 || co.ClientID != "me" {
		t.Errorf("options %+v", co)
	}
	o, err = parse(t, "-t", "a", "-m", "x", "-V", "4")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.ConnOptions(); err == nil || !strings.Contains(err.Error(), "invalid --mqtt-version 4") {
		t.Errorf("-V 4: %v", err)
	}
}
