package sub

import (
	"reflect"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/cli/cmdutil/cmdtest"
	"github.com/mqttx/mqttx/internal/mqttc"
)

// parse runs the sub command's flag parsing and validation, stopping before run.
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
		{"one topic", []string{"-t", "a/+/b"}, ""},
		{"several", []string{"-t", "a", "-t", "b/#", "-q", "1"}, ""},
		{"per-topic qos", []string{"-t", "a", "-q", "0", "-t", "b", "-q", "2"}, ""},
		{"comma in topic", []string{"-t", "a,b"}, ""},
		{"timeout seconds", []string{"-t", "a", "-W", "5"}, ""},
		{"timeout duration", []string{"-t", "a", "-W", "1m"}, ""},
		{"v5 options", []string{"-t", "a", "--no-local", "--retain-as-published", "--retain-handling", "2", "--subscription-identifier", "7", "--user-property", "a=b"}, ""},
		{"shared", []string{"-t", "$share/g/a/+"}, ""},
		{"url topic", []string{"-L", "mqtt://localhost/x/#"}, ""},
		{"no topic", nil, "missing --topic"},
		{"empty topic", []string{"-t", ""}, "must not be empty"},
		{"# in middle", []string{"-t", "a/#/b"}, "invalid --topic a/#/b: '#' must be the last level"},
		{"+ glued", []string{"-t", "a/b+"}, "invalid --topic a/b+: '+' must be alone in its level"},
		{"qos 3", []string{"-t", "a", "-q", "3"}, "invalid --qos 3"},
		{"qos count mismatch", []string{"-t", "a", "-t", "b", "-t", "c", "-q", "1", "-q", "2"}, "2 values for 3 topics"},
		{"too many qos", []string{"-t", "a", "-q", "1", "-q", "2"}, "2 values for 1 topics"},
		{"negative count", []string{"-t", "a", "-C", "-1"}, "invalid --count -1"},
		{"bad timeout", []string{"-t", "a", "-W", "soon"}, "not a duration"},
		{"negative timeout", []string{"-t", "a", "-W", "-3"}, "negative"},
		{"retain handling 3", []string{"-t", "a", "--retain-handling", "3"}, "invalid --retain-handling 3"},
		{"subscription id 0", []string{"-t", "a", "--subscription-identifier", "0"}, "invalid --subscription-identifier 0"},
		{"subscription id too big", []string{"-t", "a", "--subscription-identifier", "268435456"}, "between 1 and 268435455"},
		{"bad user property", []string{"-t", "a", "--user-property", "x"}, `invalid --user-property "x"`},
		{"bad color", []string{"-t", "a", "--color", "maybe"}, "invalid --color maybe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, tt.args...)
			cmdtest.CheckUsageError(t, err, tt.wantErr)
		})
	}
}

func TestSubscriptions(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []mqttc.Subscription
	}{
		{"default qos 0", []string{"-t", "a", "-t", "b"}, []mqttc.Subscription{{Topic: "a"}, {Topic: "b"}}},
		{"one qos for all", []string{"-t", "a", "-t", "b", "-q", "2"}, []mqttc.Subscription{{Topic: "a", QoS: 2}, {Topic: "b", QoS: 2}}},
		{"qos per topic", []string{"-t", "a", "-q", "1", "-t", "b", "-q", "2"}, []mqttc.Subscription{{Topic: "a", QoS: 1}, {Topic: "b", QoS: 2}}},
		{"qos list", []string{"-t", "a", "-t", "b", "-q", "2,0"}, []mqttc.Subscription{{Topic: "a", QoS: 2}, {Topic: "b", QoS: 0}}},
		{"v5 options", []string{"-t", "a", "--no-local", "--retain-as-published", "--retain-handling", "1"}, []mqttc.Subscription{{Topic: "a", NoLocal: true, RetainAsPublished: true, RetainHandling: 1}}},
		{"url topic", []string{"-L", "mqtt://localhost/x/#", "-q", "1"}, []mqttc.Subscription{{Topic: "x/#", QoS: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parse(t, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if got := o.subscriptions(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSubscribeOptions(t *testing.T) {
	o, err := parse(t, "-t", "a", "--subscription-identifier", "42", "--user-property", "k=v", "-W", "2.5")
	if err != nil {
		t.Fatal(err)
	}
	so := o.subscribeOptions()
	if so.SubscriptionID == nil || *so.SubscriptionID != 42 {
		t.Errorf("subscription id %v", so.SubscriptionID)
	}
	if !reflect.DeepEqual(so.UserProperties, []mqttc.UserProperty{{Key: "k", Value: "v"}}) {
		t.Errorf("user properties %v", so.UserProperties)
	}
	if time.Duration(o.Timeout) != 2500*time.Millisecond {
		t.Errorf("timeout %v", time.Duration(o.Timeout))
	}
	o, _ = parse(t, "-t", "a")
	if so := o.subscribeOptions(); so.SubscriptionID != nil || so.UserProperties != nil {
		t.Errorf("no flags: %+v", so)
	}
}
