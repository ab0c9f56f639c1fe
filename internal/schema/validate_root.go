package schema

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
)

// Mode is configValidationMode: how schema problems are reported.
type Mode string

const (
	ModeWarn  Mode = "warn"
	ModeError Mode = "error"
	ModeOff   Mode = "off"
)

// ModeOf reads configValidationMode from the tree (warn when unset or
// not one of the three values).
func ModeOf(root *config.Node) Mode {
	switch s, _ := root.Get("configValidationMode").Str(); Mode(s) {
	case ModeError:
		return ModeError
	case ModeOff:
		return ModeOff
	}
	return ModeWarn
}

// Validate reports every problem with the resolved tree. Whether schema
// problems are errors or warnings follows configValidationMode (warn by
// default); the rejections v3 makes regardless of that mode (a
// frameworkVersion that excludes 3.40.0, object-form service, …) are
// always errors. Like v3, it normalizes the tree in place: list-form
// functions and resources are merged into mappings, and values ajv
// coerces ("512" for an integer, a string for a list) are converted.
func Validate(root *config.Node) diag.Diagnostics {
	if ds := checkShape(root); ds != nil {
		return ds
	}
	mode := ModeOf(root)
	ds := mergeLists(root)
	more, rejected := rejections(root, mode)
	for _, d := range ds {
		rejected[strings.SplitN(d.Path, "[", 2)[0]] = true // the list as a whole
	}
	ds = append(ds, more...)
	if mode != ModeOff {
		severity := diag.Warning
		if mode == ModeError {
			severity = diag.Error
		}
		v := &validator{apply: true}
		for _, is := range v.check(schemaView(root), rootSchemaFor(root), nil, valueAnchor(root)) {
			if rejected[is.path.String()] {
				continue // already reported, more precisely
			}
			ds = append(ds, diag.Diagnostic{
				Severity: severity, Summary: is.summary, Detail: is.detail,
				Path: is.path.String(), Pos: is.pos, Width: is.width,
			})
		}
	} else {
		coerceOnly(root)
	}
	ds = dedupe(ds)
	ds.Sort()
	return ds
}

// coerceOnly applies v3's type coercions without reporting, for
// configValidationMode: off (v3 still runs ajv, it only hides the result).
func coerceOnly(root *config.Node) {
	v := &validator{apply: true}
	v.check(schemaView(root), rootSchemaFor(root), nil, valueAnchor(root))
}

// schemaView is the tree as v3 validates it: a string provider ("provider:
// aws") stands for {name: aws}.
func schemaView(root *config.Node) *config.Node {
	p := root.Pair("provider")
	if p == nil || p.Value == nil || p.Value.Kind != config.String {
		return root
	}
	view := *root
	view.Pairs = append([]config.Pair(nil), root.Pairs...)
	prov := config.NewMap(p.Value.Pos)
	prov.Pairs = []config.Pair{{Key: "name", KeyPos: p.Value.Pos, Value: p.Value}}
	for i := range view.Pairs {
		if view.Pairs[i].Key == "provider" {
			view.Pairs[i].Value = prov
		}
	}
	return &view
}

// checkShape rejects a file that is not a mapping at all.
func checkShape(root *config.Node) diag.Diagnostics {
	if root != nil && root.Kind == config.Map {
		return nil
	}
	var ds diag.Diagnostics
	d := diag.Diagnostic{Severity: diag.Error}
	switch {
	case root == nil || root.Kind == config.Null:
		d.Summary = "the service file is empty"
		d.Detail = "A service needs at least \"service\" and \"provider\" keys."
		if root != nil {
			d.Pos = root.Pos
		}
	default:
		d.Pos, d.Width = root.Pos, 1
		d.Summary = fmt.Sprintf("the service file must be a mapping of keys (service, provider, functions, …), not %s", kindPhrase(root.Kind))
	}
	ds.Append(d)
	return ds
}

// kindPhrase names a kind the way a YAML author thinks of it.
func kindPhrase(k config.Kind) string {
	switch k {
	case config.Seq:
		return "a list"
	case config.String:
		return "a string"
	case config.Map:
		return "a mapping"
	case config.Int, config.Float:
		return "a number"
	case config.Null:
		return "null"
	}
	return "a " + k.String()
}

// dedupe drops repeated diagnostics (the same message at the same place),
// which alternatives sharing a definition can produce.
func dedupe(ds diag.Diagnostics) diag.Diagnostics {
	type key struct {
		pos       diag.Pos
		path, msg string
	}
	seen := map[key]bool{}
	out := ds[:0]
	for _, d := range ds {
		k := key{d.Pos, d.Path, d.Summary}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, d)
	}
	return out
}

func keyDiag(sev diag.Severity, p *config.Pair, path, summary, detail string) diag.Diagnostic {
	return diag.Diagnostic{Severity: sev, Summary: summary, Detail: detail, Path: path,
		Pos: p.KeyPos, Width: max1(utf8.RuneCountInString(p.Key))}
}

func valueDiag(sev diag.Severity, n *config.Node, path, summary, detail string) diag.Diagnostic {
	return diag.Diagnostic{Severity: sev, Summary: summary, Detail: detail, Path: path,
		Pos: n.Pos, Width: valueWidth(n)}
}
