package cmdutil

import (
	"maps"
	"slices"
	"strings"

	"github.com/spf13/pflag"
)

// Alias is a spelling of MQTTX CLI (or mosquitto) that our flag parser would misread or
// refuse: pflag has one-letter shorthands only, so MQTTX's "-up k: v" would parse as
// "-u p" and silently set the user name. ApplyAliases rewrites these spellings to our
// long flags before parsing.
type Alias struct {
	Spelling string   // as typed: "-up", "--user-properties"
	Flag     string   // our long flag it stands for, without "--"
	Commands []string // commands it applies to; nil means conn, pub and sub
	// Value converts MQTTX's value form to ours ("name: value" -> "name=value"); nil
	// keeps it.
	Value func(string) string
	// Unsupported, when set, makes the spelling a usage error saying this.
	Unsupported string
	// Fixed is the value implied by the spelling (--no-req-problem-info is
	// --request-problem-info=false); the spelling then takes no value.
	Fixed string
	// Values, when set, are the only values MQTTX accepts, each mapped to ours
	// (--output-mode clean is --output json); another value is a usage error.
	Values map[string]string
}

var (
	clientCmds = []string{"conn", "pub", "sub"}
	pubOnly    = []string{"pub"}
	subOnly    = []string{"sub"}
	pubSub     = []string{"pub", "sub"}
	connOnly   = []string{"conn"}
)

// Aliases is the table of MQTTX CLI spellings mqttx accepts, documented in README.md
// ("MQTTX CLI spellings"). Values keep MQTTX's forms: user properties as "name: value",
// --reconnect-period in milliseconds.
var Aliases = []Alias{
	// Connection, MQTTX CLI's names.
	{Spelling: "--hostname", Flag: "host"},
	{Spelling: "-se", Flag: "session-expiry"},
	{Spelling: "--session-expiry-interval", Flag: "session-expiry"},
	{Spelling: "-rp", Flag: "reconnect-period", Commands: []string{"conn", "sub"}},
	{Spelling: "--maximum-reconnect-times", Flag: "max-reconnects", Commands: []string{"conn", "sub"}},
	{Spelling: "--path", Flag: "ws-path"},
	{Spelling: "-wh", Flag: "ws-header"},
	{Spelling: "--ws-headers", Flag: "ws-header"},
	{Spelling: "--rcv-max", Flag: "receive-maximum"},
	{Spelling: "--req-response-info", Flag: "request-response-info"},
	{Spelling: "--no-req-problem-info", Flag: "request-problem-info", Fixed: "false"},
	{Spelling: "-Cup", Flag: "conn-user-property", Value: colonKV},
	{Spelling: "--conn-user-properties", Flag: "conn-user-property", Value: colonKV},
	{Spelling: "-up", Flag: "conn-user-property", Commands: connOnly, Value: colonKV},
	{Spelling: "--user-properties", Flag: "conn-user-property", Commands: connOnly, Value: colonKV},
	// mosquitto's spellings.
	{Spelling: "-c", Flag: "no-clean"},
	{Spelling: "--cafile", Flag: "ca"},
	{Spelling: "--will-payload", Flag: "will-message"},

	// Will.
	{Spelling: "-Wt", Flag: "will-topic"},
	{Spelling: "-Wm", Flag: "will-message"},
	{Spelling: "-Wq", Flag: "will-qos"},
	{Spelling: "-Wr", Flag: "will-retain"},
	{Spelling: "-Wd", Flag: "will-delay-interval"},
	{Spelling: "-Wpf", Flag: "will-payload-format-indicator"},
	{Spelling: "-Wme", Flag: "will-message-expiry"},
	{Spelling: "--will-message-expiry-interval", Flag: "will-message-expiry"},
	{Spelling: "-Wct", Flag: "will-content-type"},
	{Spelling: "-Wrt", Flag: "will-response-topic"},
	{Spelling: "-Wcd", Flag: "will-correlation-data"},
	{Spelling: "-Wup", Flag: "will-user-property", Value: colonKV},
	{Spelling: "--will-user-properties", Flag: "will-user-property", Value: colonKV},

	// PUBLISH and SUBSCRIBE properties.
	{Spelling: "-up", Flag: "user-property", Commands: pubSub, Value: colonKV},
	{Spelling: "--user-properties", Flag: "user-property", Commands: pubSub, Value: colonKV},
	{Spelling: "-pf", Flag: "payload-format-indicator", Commands: pubOnly},
	{Spelling: "-e", Flag: "message-expiry-interval", Commands: pubOnly},
	{Spelling: "-ta", Flag: "topic-alias", Commands: pubOnly},
	{Spelling: "-rt", Flag: "response-topic", Commands: pubOnly},
	{Spelling: "-cd", Flag: "correlation-data", Commands: pubOnly},
	{Spelling: "-ct", Flag: "content-type", Commands: pubOnly},
	{Spelling: "--file-read", Flag: "file", Commands: pubOnly},
	{Spelling: "--line-mode", Flag: "multiline", Commands: pubOnly},
	{Spelling: "-nl", Flag: "no-local", Commands: subOnly},
	{Spelling: "--no_local", Flag: "no-local", Commands: subOnly},
	{Spelling: "-rap", Flag: "retain-as-published", Commands: subOnly},
	{Spelling: "-rh", Flag: "retain-handling", Commands: subOnly},
	{Spelling: "-si", Flag: "subscription-identifier", Commands: subOnly},
	// MQTTX's clean mode prints each message as JSON and no status lines; ours prints
	// JSON Lines on stdout and keeps status events on stderr.
	{Spelling: "--output-mode", Flag: "output", Commands: subOnly, Values: map[string]string{"default": "text", "clean": "json"}},

	// bench and simulate: MQTTX CLI's intervals are milliseconds, as ours are there.
	{Spelling: "-sc", Flag: "scenario", Commands: []string{"simulate"}},
	{Spelling: "-im", Flag: "interval", Commands: []string{"simulate"}},
	{Spelling: "-im", Flag: "interval-msg", Commands: []string{"bench pub"}},
	{Spelling: "--message-interval", Flag: "interval-msg", Commands: []string{"bench pub"}},

	// MQTTX CLI options mqttx does not have: refused, never misread.
	{Spelling: "-Pp", Unsupported: "protobuf payloads are not supported by mqttx"},
	{Spelling: "--protobuf-path", Unsupported: "protobuf payloads are not supported by mqttx"},
	{Spelling: "-Pmn", Unsupported: "protobuf payloads are not supported by mqttx"},
	{Spelling: "--protobuf-message-name", Unsupported: "protobuf payloads are not supported by mqttx"},
	{Spelling: "-so", Unsupported: "save connection settings with: mqttx profile save NAME [flags]"},
	{Spelling: "--save", Unsupported: "save connection settings with: mqttx profile save NAME [flags]"},
	{Spelling: "-lo", Unsupported: "load saved settings with --profile NAME"},
	{Spelling: "--load", Unsupported: "load saved settings with --profile NAME"},
	{Spelling: "-dup", Unsupported: "mqttx does not set DUP on a first delivery", Commands: pubOnly},
	{Spelling: "--dup", Unsupported: "mqttx does not set DUP on a first delivery", Commands: pubOnly},
}

// colonKV turns MQTTX's user property form "name: value" into ours, "name=value". A
// value already in our form is kept.
func colonKV(s string) string {
	k, v, ok := strings.Cut(s, ": ")
	if !ok {
		if strings.Contains(s, "=") {
			return s
		}
		k, v, ok = strings.Cut(s, ":")
		if !ok {
			return s
		}
	}
	return strings.TrimSpace(k) + "=" + v
}

// lookupAlias finds the alias spelled name for command cmd.
func lookupAlias(cmd, name string) (Alias, bool) {
	for _, a := range Aliases {
		if a.Spelling != name {
			continue
		}
		cmds := a.Commands
		if cmds == nil {
			cmds = clientCmds
		}
		if slices.Contains(cmds, cmd) {
			return a, true
		}
	}
	return Alias{}, false
}

// ApplyAliases rewrites the MQTTX spellings of Aliases in args, the arguments of
// command cmd after its name, into our long flags, leaving everything else (values
// included) untouched. fs holds the command's flags, to know which flags take a value.
// An unsupported spelling returns a *FlagError.
func ApplyAliases(cmd string, args []string, fs *pflag.FlagSet) ([]string, error) {
	out := make([]string, 0, len(args))
	takesValue := func(f *pflag.Flag) bool { return f != nil && f.NoOptDefVal == "" }
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			return append(out, args[i:]...), nil
		}
		if len(arg) < 2 || arg[0] != '-' {
			out = append(out, arg)
			continue
		}
		name, value, hasValue := strings.Cut(arg, "=")
		if name == "-D" || name == "--property" {
			flag, n, err := mosquittoProperty(cmd, args[i+1:])
			if err != nil {
				return nil, err
			}
			out = append(out, flag)
			i += n
			continue
		}
		if a, ok := lookupAlias(cmd, name); ok {
			if a.Unsupported != "" {
				return nil, FlagErrorf("%s is an MQTTX CLI option mqttx does not have: %s", name, a.Unsupported)
			}
			long := "--" + a.Flag
			f := fs.Lookup(a.Flag)
			switch {
			case f == nil:
				return nil, FlagErrorf("%s (--%s) is not an option of mqttx %s", name, a.Flag, cmd)
			case a.Fixed != "":
				out = append(out, long+"="+a.Fixed)
			case !takesValue(f):
				if hasValue {
					out = append(out, long+"="+value)
				} else {
					out = append(out, long)
				}
			default:
				if !hasValue {
					if i+1 >= len(args) {
						return nil, FlagErrorf("flag needs an argument: %s", name)
					}
					i++
					value = args[i]
				}
				if a.Value != nil {
					value = a.Value(value)
				}
				if a.Values != nil {
					v, ok := a.Values[value]
					if !ok {
						return nil, FlagErrorf("invalid %s %s: must be %s", name, value, strings.Join(slices.Sorted(maps.Keys(a.Values)), " or "))
					}
					value = v
				}
				out = append(out, long+"="+value)
			}
			continue
		}
		out = append(out, arg)
		// Our own flags: skip the value of one that takes it as the next argument.
		if strings.HasPrefix(arg, "--") {
			if !hasValue && takesValue(fs.Lookup(arg[2:])) {
				if i+1 < len(args) {
					i++
					out = append(out, args[i])
				}
			}
			continue
		}
		// A cluster of shorthands (-qr, -q1, -t topic): the first that takes a value
		// takes the rest of the cluster or the next argument.
		for j := 1; j < len(arg); j++ {
			f := fs.ShorthandLookup(arg[j : j+1])
			if !takesValue(f) {
				continue
			}
			if j == len(arg)-1 && i+1 < len(args) {
				i++
				out = append(out, args[i])
			}
			break
		}
	}
	return out, nil
}

// mosquittoProps maps mosquitto's -D/--property COMMAND IDENTIFIER to our flags, per
// command of mosquitto's (connect, publish, subscribe, will).
var mosquittoProps = map[string]map[string]string{
	"connect": {
		"session-expiry-interval": "session-expiry", "receive-maximum": "receive-maximum",
		"maximum-packet-size": "maximum-packet-size", "topic-alias-maximum": "topic-alias-maximum",
		"request-response-information": "request-response-info", "request-problem-information": "request-problem-info",
		"user-property": "conn-user-property",
	},
	"publish": {
		"payload-format-indicator": "payload-format-indicator", "message-expiry-interval": "message-expiry-interval",
		"content-type": "content-type", "response-topic": "response-topic", "correlation-data": "correlation-data",
		"topic-alias": "topic-alias", "user-property": "user-property",
	},
	"subscribe": {"subscription-identifier": "subscription-identifier", "user-property": "user-property"},
	"will": {
		"will-delay-interval": "will-delay-interval", "payload-format-indicator": "will-payload-format-indicator",
		"message-expiry-interval": "will-message-expiry", "content-type": "will-content-type",
		"response-topic": "will-response-topic", "correlation-data": "will-correlation-data",
		"user-property": "will-user-property",
	},
}

// mosquittoProperty reads mosquitto's "-D COMMAND IDENTIFIER VALUE" (user-property takes
// NAME VALUE) from rest and returns our flag with its value and how many arguments of
// rest it used.
func mosquittoProperty(cmd string, rest []string) (string, int, error) {
	const usage = "use -D COMMAND IDENTIFIER VALUE, as mosquitto: -D publish content-type text/plain"
	if len(rest) < 2 {
		return "", 0, FlagErrorf("-D needs a command and a property: %s", usage)
	}
	command, ident := rest[0], rest[1]
	props, ok := mosquittoProps[command]
	if !ok {
		return "", 0, FlagErrorf("invalid -D command %q: must be connect, publish, subscribe or will", command)
	}
	if (command == "publish" && cmd != "pub") || (command == "subscribe" && cmd != "sub") {
		return "", 0, FlagErrorf("-D %s properties do not apply to mqttx %s", command, cmd)
	}
	flag, ok := props[ident]
	if !ok {
		return "", 0, FlagErrorf("invalid -D %s property %q: mqttx knows %s", command, ident, strings.Join(sortedKeys(props), ", "))
	}
	if ident == "user-property" {
		if len(rest) < 4 {
			return "", 0, FlagErrorf("-D %s user-property needs a name and a value", command)
		}
		return "--" + flag + "=" + rest[2] + "=" + rest[3], 4, nil
	}
	if len(rest) < 3 {
		return "", 0, FlagErrorf("-D %s %s needs a value: %s", command, ident, usage)
	}
	value := rest[2]
	switch ident {
	case "request-response-information", "request-problem-information", "payload-format-indicator":
		switch value {
		case "0":
			value = "false"
		case "1":
			value = "true"
		default:
			return "", 0, FlagErrorf("invalid -D %s %s %q: must be 0 or 1", command, ident, value)
		}
	}
	return "--" + flag + "=" + value, 3, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
