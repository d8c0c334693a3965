package simulate

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"text/template/parse"
	"time"
)

// The fast path. text/template spends most of a message's time in reflection: looking
// up fields, calling functions, boxing values to print them. A template that sticks to
// a common subset (text, fields, literals, the functions below, if/else, eq/ne/lt/le/
// gt/ge/and/or/not, parentheses and pipes) with argument types known when it is loaded
// is compiled here into a tree that reads the device's values from slots and calls the
// functions directly. It prints exactly what text/template prints, draws the same
// random numbers in the same order, and anything else keeps text/template (tests
// compare the two on every built-in and in the fuzz target). An error at run time hands
// the message back to text/template, whose error message the user then sees.

// kind is a value's type, known when a template is compiled.
type kind uint8

const (
	kAny kind = iota // only known when run (pick, and, or)
	kStr
	kInt
	kFloat
	kNum
	kBool
	kTime
)

// value is a template value without boxing.
type value struct {
	k kind
	s string
	f float64 // kFloat, kNum
	d int     // kNum decimals
	i int64   // kInt
	b bool
	t time.Time
}

var errFallback = errors.New("fast path: not supported")

func (v value) truth() bool {
	switch v.k {
	case kStr:
		return v.s != ""
	case kInt:
		return v.i != 0
	case kFloat:
		return v.f != 0
	case kBool:
		return v.b
	}
	return true // Num and time are structs (or pointers to them): always true
}

func appendValue(b []byte, v value) []byte {
	switch v.k {
	case kStr:
		return append(b, v.s...)
	case kInt:
		return strconv.AppendInt(b, v.i, 10)
	case kFloat:
		return fmt.Append(b, v.f) // exactly as fmt.Fprint prints a float64
	case kNum:
		return strconv.AppendFloat(b, v.f, 'f', v.d, 64)
	case kBool:
		return strconv.AppendBool(b, v.b)
	case kTime:
		return append(b, v.t.String()...)
	}
	return b
}

// toFloatV is toFloat for values.
func toFloatV(v value) (float64, error) {
	switch v.k {
	case kNum, kFloat:
		return v.f, nil
	case kInt:
		return float64(v.i), nil
	case kBool:
		if v.b {
			return 1, nil
		}
		return 0, nil
	case kStr:
		f, err := strconv.ParseFloat(v.s, 64)
		if err != nil {
			return 0, errFallback
		}
		return f, nil
	}
	return 0, errFallback
}

// fastFunc is one function of the fast path: its parameter kinds (kAny accepts any),
// whether the last repeats, its result kind, and its body bound to a device.
type fastFunc struct {
	params   []kind
	variadic bool
	ret      kind
	bind     func(fs *funcs) func(args []value) (value, error)
}

func str(s string) value         { return value{k: kStr, s: s} }
func num(f float64, d int) value { return value{k: kNum, f: f, d: d} }

func strFn(get func(fs *funcs) func() string) fastFunc {
	return fastFunc{ret: kStr, bind: func(fs *funcs) func([]value) (value, error) {
		f := get(fs)
		return func([]value) (value, error) { return str(f()), nil }
	}}
}

func strStrFn(get func(fs *funcs) func(string) string) fastFunc {
	return fastFunc{params: []kind{kStr}, ret: kStr, bind: func(fs *funcs) func([]value) (value, error) {
		f := get(fs)
		return func(a []value) (value, error) { return str(f(a[0].s)), nil }
	}}
}

func randStrFn(alphabet string) fastFunc {
	return fastFunc{params: []kind{kInt}, ret: kStr, bind: func(fs *funcs) func([]value) (value, error) {
		return func(a []value) (value, error) {
			s, err := fixedRand(fs.r, int(a[0].i), alphabet)
			if err != nil {
				return value{}, errFallback
			}
			return str(s), nil
		}
	}}
}

func arithFn(op func(a, b float64) float64) fastFunc {
	return fastFunc{params: []kind{kAny, kAny}, ret: kFloat, bind: func(*funcs) func([]value) (value, error) {
		return func(a []value) (value, error) {
			x, err := toFloatV(a[0])
			if err != nil {
				return value{}, err
			}
			y, err := toFloatV(a[1])
			if err != nil {
				return value{}, err
			}
			return value{k: kFloat, f: op(x, y)}, nil
		}
	}}
}

func timeFn(ret kind, f func(t time.Time) value) fastFunc {
	return fastFunc{params: []kind{kTime}, ret: ret, bind: func(*funcs) func([]value) (value, error) {
		return func(a []value) (value, error) { return f(a[0].t), nil }
	}}
}

// fastFuncs mirrors funcs.Map: same names, same draws from the device's sources. Built
// on first use, not at start-up.
var fastFuncs = sync.OnceValue(func() map[string]fastFunc {
	return map[string]fastFunc{
		"name":        strFn(func(fs *funcs) func() string { return fs.f.Name }),
		"firstName":   strFn(func(fs *funcs) func() string { return fs.f.FirstName }),
		"lastName":    strFn(func(fs *funcs) func() string { return fs.f.LastName }),
		"email":       strFn(func(fs *funcs) func() string { return fs.f.Email }),
		"phone":       strFn(func(fs *funcs) func() string { return fs.f.Phone }),
		"username":    strFn(func(fs *funcs) func() string { return fs.f.Username }),
		"company":     strFn(func(fs *funcs) func() string { return fs.f.Company }),
		"uuid":        strFn(func(fs *funcs) func() string { return fs.f.UUID }),
		"street":      strFn(func(fs *funcs) func() string { return fs.f.Street }),
		"city":        strFn(func(fs *funcs) func() string { return fs.f.City }),
		"state":       strFn(func(fs *funcs) func() string { return fs.f.State }),
		"country":     strFn(func(fs *funcs) func() string { return fs.f.Country }),
		"countryCode": strFn(func(fs *funcs) func() string { return fs.f.CountryAbr }),
		"zip":         strFn(func(fs *funcs) func() string { return fs.f.Zip }),
		"ipv4":        strFn(func(fs *funcs) func() string { return fs.f.IPv4Address }),
		"mac":         strFn(func(fs *funcs) func() string { return fs.f.MacAddress }),
		"carMaker":    strFn(func(fs *funcs) func() string { return fs.f.CarMaker }),
		"carModel":    strFn(func(fs *funcs) func() string { return fs.f.CarModel }),
		"productName": strFn(func(fs *funcs) func() string { return fs.f.ProductName }),
		"color":       strFn(func(fs *funcs) func() string { return fs.f.Color }),
		"word":        strFn(func(fs *funcs) func() string { return fs.f.Word }),
		"numerify":    strStrFn(func(fs *funcs) func(string) string { return fs.f.Numerify }),
		"lexify":      strStrFn(func(fs *funcs) func(string) string { return fs.f.Lexify }),
		"upper":       strStrFn(func(*funcs) func(string) string { return strings.ToUpper }),
		"lower":       strStrFn(func(*funcs) func(string) string { return strings.ToLower }),
		"latitude": {ret: kNum, bind: func(fs *funcs) func([]value) (value, error) {
			return func([]value) (value, error) { return num(fs.f.Latitude(), 6), nil }
		}},
		"longitude": {ret: kNum, bind: func(fs *funcs) func([]value) (value, error) {
			return func([]value) (value, error) { return num(fs.f.Longitude(), 6), nil }
		}},
		"digits":  randStrFn("0123456789"),
		"letters": randStrFn("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"),
		"hex":     randStrFn("0123456789abcdef"),
		"randInt": {params: []kind{kInt, kInt}, ret: kInt, bind: func(fs *funcs) func([]value) (value, error) {
			return func(a []value) (value, error) {
				lo, hi := int(a[0].i), int(a[1].i)
				if lo > hi {
					return value{}, errFallback
				}
				return value{k: kInt, i: int64(lo + fs.r.IntN(hi-lo+1))}, nil
			}
		}},
		"randFloat": {params: []kind{kAny, kAny}, ret: kFloat, bind: func(fs *funcs) func([]value) (value, error) {
			return func(a []value) (value, error) {
				lo, err := toFloatV(a[0])
				if err != nil {
					return value{}, err
				}
				hi, err := toFloatV(a[1])
				if err != nil {
					return value{}, err
				}
				return value{k: kFloat, f: lo + fs.r.Float64()*(hi-lo)}, nil
			}
		}},
		"pick": {params: []kind{kAny}, variadic: true, ret: kAny, bind: func(fs *funcs) func([]value) (value, error) {
			return func(a []value) (value, error) { return a[fs.r.IntN(len(a))], nil }
		}},
		"chance": {params: []kind{kAny}, ret: kBool, bind: func(fs *funcs) func([]value) (value, error) {
			return func(a []value) (value, error) {
				x := fs.r.Float64()
				p, err := toFloatV(a[0])
				return value{k: kBool, b: x < p}, err
			}
		}},
		"round": {params: []kind{kAny, kInt}, ret: kNum, bind: func(*funcs) func([]value) (value, error) {
			return func(a []value) (value, error) {
				x, err := toFloatV(a[0])
				if err != nil || a[1].i < 0 || a[1].i > 9 {
					return value{}, errFallback
				}
				return num(x, int(a[1].i)), nil
			}
		}},
		"num": {params: []kind{kAny}, ret: kFloat, bind: func(*funcs) func([]value) (value, error) {
			return func(a []value) (value, error) {
				x, err := toFloatV(a[0])
				return value{k: kFloat, f: x}, err
			}
		}},
		"add": arithFn(func(a, b float64) float64 { return a + b }),
		"sub": arithFn(func(a, b float64) float64 { return a - b }),
		"mul": arithFn(func(a, b float64) float64 { return a * b }),
		"div": arithFn(safeDiv),
		"json": {params: []kind{kAny}, ret: kStr, bind: func(*funcs) func([]value) (value, error) {
			return func(a []value) (value, error) {
				v := a[0]
				switch v.k {
				case kStr:
					return str(string(appendJSONString(make([]byte, 0, len(v.s)+2), v.s))), nil
				case kNum:
					return str(strconv.FormatFloat(v.f, 'f', v.d, 64)), nil
				case kTime:
					return str(`"` + v.t.UTC().Format(time.RFC3339Nano) + `"`), nil
				case kInt:
					return str(strconv.FormatInt(v.i, 10)), nil
				case kBool:
					return str(strconv.FormatBool(v.b)), nil
				case kFloat:
					b, err := json.Marshal(v.f)
					if err != nil {
						return value{}, errFallback
					}
					return str(string(b)), nil
				}
				return value{}, errFallback
			}
		}},
		"rfc3339":   timeFn(kStr, func(t time.Time) value { return str(t.UTC().Format("2006-01-02T15:04:05.000Z07:00")) }),
		"unix":      timeFn(kInt, func(t time.Time) value { return value{k: kInt, i: t.Unix()} }),
		"unixMilli": timeFn(kInt, func(t time.Time) value { return value{k: kInt, i: t.UnixMilli()} }),
	}
})

// fastNames fixes the order of fastFuncs, so a compiled program refers to a device's
// bound functions by index.
var fastNames = sync.OnceValues(func() ([]string, map[string]int) {
	names := make([]string, 0, len(fastFuncs()))
	for n := range fastFuncs() {
		names = append(names, n)
	}
	sortStrings(names)
	idx := make(map[string]int, len(names))
	for i, n := range names {
		idx[n] = i
	}
	return names, idx
})

func fastIndex(name string) int {
	_, idx := fastNames()
	return idx[name]
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// bindFast returns the device's fast functions, in fastNames order.
func bindFast(fs *funcs) []func([]value) (value, error) {
	names, _ := fastNames()
	fns := fastFuncs()
	out := make([]func([]value) (value, error), len(names))
	for i, n := range names {
		out[i] = fns[n].bind(fs)
	}
	return out
}

// env is what a compiled program runs against: the device's slots and functions.
type env struct {
	slots []value
	fns   []func([]value) (value, error)
	stack []value
}

// node is a compiled template node.
type node interface {
	exec(e *env, b []byte) ([]byte, error)
}

// expr is a compiled expression.
type expr interface {
	eval(e *env) (value, error)
	kind() kind
}

type textNode []byte

func (t textNode) exec(_ *env, b []byte) ([]byte, error) { return append(b, t...), nil }

type listNode []node

func (l listNode) exec(e *env, b []byte) ([]byte, error) {
	var err error
	for _, n := range l {
		if b, err = n.exec(e, b); err != nil {
			return b, err
		}
	}
	return b, nil
}

type actionNode struct{ x expr }

func (a actionNode) exec(e *env, b []byte) ([]byte, error) {
	v, err := a.x.eval(e)
	if err != nil {
		return b, err
	}
	return appendValue(b, v), nil
}

type ifNode struct {
	cond       expr
	then, els_ node
}

func (n ifNode) exec(e *env, b []byte) ([]byte, error) {
	v, err := n.cond.eval(e)
	if err != nil {
		return b, err
	}
	if v.truth() {
		return n.then.exec(e, b)
	}
	if n.els_ != nil {
		return n.els_.exec(e, b)
	}
	return b, nil
}

type constExpr struct{ v value }

func (c constExpr) eval(*env) (value, error) { return c.v, nil }
func (c constExpr) kind() kind               { return c.v.k }

type slotExpr struct {
	i int
	k kind
}

func (s slotExpr) eval(e *env) (value, error) { return e.slots[s.i], nil }
func (s slotExpr) kind() kind                 { return s.k }

type callExpr struct {
	fn   int
	args []expr
	ret  kind
}

// eval pushes the arguments on the device's stack (programs are shared by devices, so
// the scratch space is the device's), calls the function and pops them.
func (c *callExpr) eval(e *env) (value, error) {
	base := len(e.stack)
	for _, a := range c.args {
		v, err := a.eval(e)
		if err != nil {
			e.stack = e.stack[:base]
			return value{}, err
		}
		e.stack = append(e.stack, v)
	}
	v, err := e.fns[c.fn](e.stack[base:])
	e.stack = e.stack[:base]
	return v, err
}
func (c *callExpr) kind() kind { return c.ret }

// compareExpr is eq, ne, lt, le, gt, ge on operands of one basic kind.
type compareExpr struct {
	op   string
	args []expr
}

func (c *compareExpr) kind() kind { return kBool }

func (c *compareExpr) eval(e *env) (value, error) {
	a, err := c.args[0].eval(e)
	if err != nil {
		return value{}, err
	}
	if c.op == "eq" {
		for _, x := range c.args[1:] {
			b, err := x.eval(e)
			if err != nil {
				return value{}, err
			}
			if same(a, b) {
				return value{k: kBool, b: true}, nil
			}
		}
		return value{k: kBool}, nil
	}
	b, err := c.args[1].eval(e)
	if err != nil {
		return value{}, err
	}
	var r bool
	switch c.op {
	case "ne":
		r = !same(a, b)
	case "lt":
		r = less(a, b)
	case "le":
		r = less(a, b) || same(a, b)
	case "gt":
		r = !(less(a, b) || same(a, b))
	case "ge":
		r = !less(a, b)
	}
	return value{k: kBool, b: r}, nil
}

func same(a, b value) bool {
	switch a.k {
	case kStr:
		return a.s == b.s
	case kInt:
		return a.i == b.i
	case kFloat:
		return a.f == b.f
	case kBool:
		return a.b == b.b
	}
	return false
}

func less(a, b value) bool {
	switch a.k {
	case kStr:
		return a.s < b.s
	case kInt:
		return a.i < b.i
	case kFloat:
		return a.f < b.f
	}
	return false
}

// logicExpr is and, or (short-circuit, returning the deciding value) and not.
type logicExpr struct {
	op   string
	args []expr
}

func (l *logicExpr) kind() kind {
	if l.op == "not" {
		return kBool
	}
	return kAny
}

func (l *logicExpr) eval(e *env) (value, error) {
	if l.op == "not" {
		v, err := l.args[0].eval(e)
		return value{k: kBool, b: !v.truth()}, err
	}
	var v value
	for _, a := range l.args {
		var err error
		if v, err = a.eval(e); err != nil {
			return value{}, err
		}
		if v.truth() != (l.op == "and") {
			return v, nil
		}
	}
	return v, nil
}

// compiler turns a parse tree into nodes, or fails with errFallback.
type compiler struct {
	slots map[string]slotExpr
}

func (c *compiler) list(l *parse.ListNode) (node, error) {
	if l == nil {
		return listNode(nil), nil
	}
	out := make(listNode, 0, len(l.Nodes))
	for _, n := range l.Nodes {
		cn, err := c.node(n)
		if err != nil {
			return nil, err
		}
		if cn != nil {
			out = append(out, cn)
		}
	}
	return out, nil
}

func (c *compiler) node(n parse.Node) (node, error) {
	switch n := n.(type) {
	case *parse.TextNode:
		return textNode(n.Text), nil
	case *parse.CommentNode:
		return nil, nil
	case *parse.ActionNode:
		x, err := c.pipe(n.Pipe)
		if err != nil {
			return nil, err
		}
		return actionNode{x}, nil
	case *parse.IfNode:
		cond, err := c.pipe(n.Pipe)
		if err != nil {
			return nil, err
		}
		then, err := c.list(n.List)
		if err != nil {
			return nil, err
		}
		in := ifNode{cond: cond, then: then}
		if n.ElseList != nil {
			if in.els_, err = c.list(n.ElseList); err != nil {
				return nil, err
			}
		}
		return in, nil
	}
	return nil, errFallback
}

func (c *compiler) pipe(p *parse.PipeNode) (expr, error) {
	if p == nil || len(p.Decl) > 0 || p.IsAssign || len(p.Cmds) == 0 {
		return nil, errFallback
	}
	var prev expr
	for _, cmd := range p.Cmds {
		x, err := c.command(cmd, prev)
		if err != nil {
			return nil, err
		}
		prev = x
	}
	return prev, nil
}

// command compiles one command; prev, when not nil, is the previous command of the
// pipeline, passed as the last argument.
func (c *compiler) command(cmd *parse.CommandNode, prev expr) (expr, error) {
	if len(cmd.Args) == 0 {
		return nil, errFallback
	}
	id, isFn := cmd.Args[0].(*parse.IdentifierNode)
	if !isFn {
		if len(cmd.Args) != 1 || prev != nil {
			return nil, errFallback
		}
		return c.operand(cmd.Args[0], kAny)
	}
	rest := cmd.Args[1:]
	nargs := len(rest)
	if prev != nil {
		nargs++
	}
	argExprs := func(kinds func(i int) kind) ([]expr, error) {
		args := make([]expr, 0, nargs)
		for i, a := range rest {
			x, err := c.operand(a, kinds(i))
			if err != nil {
				return nil, err
			}
			args = append(args, x)
		}
		if prev != nil {
			if !accepts(kinds(len(rest)), prev.kind()) {
				return nil, errFallback
			}
			args = append(args, prev)
		}
		return args, nil
	}
	switch id.Ident {
	case "eq", "ne", "lt", "le", "gt", "ge":
		args, err := argExprs(func(int) kind { return kAny })
		if err != nil {
			return nil, err
		}
		if len(args) < 2 || (id.Ident != "eq" && len(args) != 2) {
			return nil, errFallback
		}
		k := args[0].kind()
		ok := k == kStr || k == kInt || k == kFloat || (k == kBool && (id.Ident == "eq" || id.Ident == "ne"))
		for _, a := range args[1:] {
			ok = ok && a.kind() == k
		}
		if !ok {
			return nil, errFallback
		}
		return &compareExpr{op: id.Ident, args: args}, nil
	case "and", "or", "not":
		args, err := argExprs(func(int) kind { return kAny })
		if err != nil {
			return nil, err
		}
		if len(args) == 0 || (id.Ident == "not" && len(args) != 1) {
			return nil, errFallback
		}
		return &logicExpr{op: id.Ident, args: args}, nil
	}
	f, ok := fastFuncs()[id.Ident]
	if !ok {
		return nil, errFallback
	}
	if nargs < len(f.params) || (!f.variadic && nargs != len(f.params)) {
		return nil, errFallback
	}
	param := func(i int) kind {
		if i >= len(f.params) {
			return f.params[len(f.params)-1]
		}
		return f.params[i]
	}
	args, err := argExprs(param)
	if err != nil {
		return nil, err
	}
	return &callExpr{fn: fastIndex(id.Ident), args: args, ret: f.ret}, nil
}

// accepts reports whether a parameter of kind p takes an argument of kind a exactly as
// text/template would.
func accepts(p, a kind) bool {
	return p == kAny || p == a
}

// operand compiles an argument for a parameter of kind want.
func (c *compiler) operand(n parse.Node, want kind) (expr, error) {
	var x expr
	switch n := n.(type) {
	case *parse.FieldNode:
		if len(n.Ident) != 1 {
			return nil, errFallback
		}
		s, ok := c.slots[n.Ident[0]]
		if !ok {
			return nil, errFallback
		}
		x = s
	case *parse.StringNode:
		x = constExpr{str(n.Text)}
	case *parse.BoolNode:
		x = constExpr{value{k: kBool, b: n.True}}
	case *parse.NumberNode:
		v, ok := numberConst(n, want)
		if !ok {
			return nil, errFallback
		}
		x = constExpr{v}
	case *parse.PipeNode:
		px, err := c.pipe(n)
		if err != nil {
			return nil, err
		}
		x = px
	default:
		return nil, errFallback
	}
	if !accepts(want, x.kind()) {
		return nil, errFallback
	}
	return x, nil
}

// numberConst is the value text/template gives a number literal: for an int parameter
// an integer; for any other use its "ideal constant", a float64 when written with a
// point, else an int. Hex, octal, exponents, runes and underscores keep text/template.
func numberConst(n *parse.NumberNode, want kind) (value, bool) {
	t := strings.TrimLeft(n.Text, "+-")
	if t == "" || strings.Trim(t, "0123456789.") != "" || strings.Count(t, ".") > 1 || (len(t) > 1 && t[0] == '0' && t[1] != '.') {
		return value{}, false
	}
	dot := strings.Contains(t, ".")
	switch {
	case want == kInt:
		if !n.IsInt {
			return value{}, false
		}
		return value{k: kInt, i: n.Int64}, true
	case dot && n.IsFloat:
		return value{k: kFloat, f: n.Float64}, true
	case !dot && n.IsInt:
		return value{k: kInt, i: n.Int64}, true
	}
	return value{}, false
}

// compileFast compiles a parsed template, or returns nil when it needs text/template.
func compileFast(tree *parse.Tree, slots map[string]slotExpr) node {
	if tree == nil || tree.Root == nil {
		return nil
	}
	c := &compiler{slots: slots}
	n, err := c.list(tree.Root)
	if err != nil {
		return nil
	}
	return n
}
