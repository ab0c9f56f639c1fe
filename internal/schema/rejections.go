package schema

import (
	"fmt"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
)

// rejections are the checks serverless v3 makes outside its schema, which
// stop it whatever configValidationMode says (lib/classes/service.js and
// lib/plugins/aws/package/compile/functions.js). v3's bucket-name check
// for s3 events runs only when packaging, so it lives in compile/aws.
//
// It also returns the key paths whose problem a rejection describes
// completely, so that the schema's complaint there can be dropped.
func rejections(root *config.Node, mode Mode) (diag.Diagnostics, map[string]bool) {
	var ds diag.Diagnostics
	covered := map[string]bool{}
	for _, check := range []func() diag.Diagnostics{
		func() diag.Diagnostics { return checkService(root) },
		func() diag.Diagnostics { return checkProvider(root) },
		func() diag.Diagnostics { return checkFrameworkVersion(root, mode) },
		func() diag.Diagnostics { return checkFunctionShapes(root) },
	} {
		for _, d := range check() {
			covered[d.Path] = true
			ds = append(ds, d)
		}
	}
	// A missing handler sits beside whatever else is wrong with the
	// function, so it covers nothing.
	ds = append(ds, checkHandlers(root)...)
	return ds, covered
}

func rootPos(root *config.Node) diag.Pos { return root.Pos }

func checkService(root *config.Node) diag.Diagnostics {
	var ds diag.Diagnostics
	p := root.Pair("service")
	if p == nil || !p.Value.Truthy() {
		d := diag.Diagnostic{Severity: diag.Error, Summary: `"service" property is missing`,
			Detail: "Name the service at the top of the file, e.g. \"service: my-service\"."}
		if p != nil {
			d = keyDiag(diag.Error, p, "service", `"service" property is empty`, d.Detail)
		} else {
			d.Pos, d.Width = rootPos(root), 1
		}
		ds.Append(d)
		return ds
	}
	if p.Value.Kind == config.Map {
		detail := "Set \"service\" directly to the service name."
		if name, ok := p.Value.Get("name").Str(); ok {
			detail = fmt.Sprintf("Write \"service: %s\" instead.", name)
		}
		ds.Append(keyDiag(diag.Error, p, "service",
			`object notation for "service" is not supported`, detail))
	}
	return ds
}

func checkProvider(root *config.Node) diag.Diagnostics {
	var ds diag.Diagnostics
	p := root.Pair("provider")
	if p == nil || p.Value == nil || p.Value.Kind == config.Null {
		d := diag.Diagnostic{Severity: diag.Error, Summary: `"provider" property is missing`,
			Detail: "Add \"provider:\" with \"name: aws\" and a runtime."}
		if p != nil {
			d = keyDiag(diag.Error, p, "provider", `"provider" property is empty`, d.Detail)
		} else {
			d.Pos, d.Width = rootPos(root), 1
		}
		ds.Append(d)
		return ds
	}
	name, where, path := p.Value, p.Value, "provider"
	if p.Value.Kind == config.Map {
		name = p.Value.Get("name")
		path = "provider.name"
		if name == nil || name.Kind == config.Null {
			ds.Append(keyDiag(diag.Error, p, "provider", `"provider.name" property is missing`,
				"Add \"name: aws\" under provider."))
			return ds
		}
		where = name
	}
	if s, ok := name.Str(); ok && s != "aws" {
		ds.Append(valueDiag(diag.Error, where, path,
			fmt.Sprintf("provider %q is not supported: Nimbus deploys to aws only", s), ""))
	}
	return ds
}

// checkFrameworkVersion compares frameworkVersion with the v3 release
// Nimbus reproduces, with node-semver range semantics.
func checkFrameworkVersion(root *config.Node, mode Mode) diag.Diagnostics {
	var ds diag.Diagnostics
	p := root.Pair("frameworkVersion")
	if p == nil || p.Value == nil || !p.Value.Truthy() || !p.Value.IsScalar() {
		return nil
	}
	want := p.Value.Scalar()
	if want == FrameworkVersion {
		return nil
	}
	r, err := parseRange(want)
	if p.Value.Kind != config.String {
		// node-semver only takes strings: v3 skips an unquoted 3.
		err = fmt.Errorf("%s is %s, not a string; quote it: frameworkVersion: '%s'", want, kindPhrase(p.Value.Kind), want)
	}
	if err != nil {
		sev := diag.Warning
		summary := `"frameworkVersion" is not a valid semver version range; version validation is skipped`
		if mode == ModeError {
			sev = diag.Error
			summary = `"frameworkVersion" is not a valid semver version range`
		}
		ds.Append(valueDiag(sev, p.Value, "frameworkVersion", summary,
			fmt.Sprintf("%v. Use a range such as \"3\" or \">=3.0.0 <4.0.0\".", err)))
		return ds
	}
	v, _ := parseVersion(FrameworkVersion)
	if !r.satisfies(v) {
		ds.Append(valueDiag(diag.Error, p.Value, "frameworkVersion",
			fmt.Sprintf("the Serverless version Nimbus implements (%s) does not satisfy \"frameworkVersion\" (%s)", FrameworkVersion, want),
			"Nimbus behaves as serverless v3. Change the range to include 3.40.0, e.g. \"frameworkVersion: '3'\"."))
	}
	return ds
}

// checkHandlers enforces that each function has exactly one of handler and
// image (v3 fails packaging otherwise).
func checkHandlers(root *config.Node) diag.Diagnostics {
	var ds diag.Diagnostics
	fns := root.Get("functions")
	if fns == nil || fns.Kind != config.Map {
		return nil
	}
	for i := range fns.Pairs {
		p := &fns.Pairs[i]
		fn := p.Value
		if fn == nil || fn.Kind != config.Map {
			continue // checkFunctionShapes
		}
		handler, image := present(fn.Get("handler")), present(fn.Get("image"))
		switch {
		case !handler && !image:
			detail := ""
			for _, k := range fn.Keys() {
				if k != "handler" && closest(k, []string{"handler"}) == "handler" {
					detail = fmt.Sprintf("'%s' looks like a misspelt 'handler'.", k)
				}
			}
			ds.Append(diag.Diagnostic{Severity: diag.Error, Path: "functions." + p.Key,
				Pos: p.KeyPos, Width: max1(len(p.Key)), Detail: detail,
				Summary: fmt.Sprintf(`either "handler" or "image" needs to be set on function %q`, p.Key)})
		case handler && image:
			ip := fn.Pair("image")
			ds.Append(keyDiag(diag.Error, ip, "functions."+p.Key+".image",
				fmt.Sprintf(`either "handler" or "image" (not both) needs to be set on function %q`, p.Key), ""))
		}
	}
	return ds
}

func present(n *config.Node) bool { return n != nil && n.Kind != config.Null }
