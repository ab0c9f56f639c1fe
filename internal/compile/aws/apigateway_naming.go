package aws

import (
	"strings"
	"unicode"

	"github.com/nimbusfw/nimbus/internal/service"
)

// The API event compilers need a handful of v3's naming rules
// (lib/plugins/aws/lib/naming.js). They are kept private here with an api
// prefix so they never collide with the shared naming.go while it grows.

// apiUpperFirst is lodash's upperFirst.
func apiUpperFirst(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// apiNormalizedName is getNormalizedResourceName: dashes and underscores
// spelled out, first letter upper-cased ("hello-world" → "HelloDashworld").
func apiNormalizedName(name string) string {
	name = strings.ReplaceAll(name, "-", "Dash")
	name = strings.ReplaceAll(name, "_", "Underscore")
	return apiUpperFirst(name)
}

// apiAlphaNumericName is normalizeNameToAlphaNumericOnly.
func apiAlphaNumericName(name string) string {
	var b strings.Builder
	for _, r := range name {
		if r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			b.WriteRune(r)
		}
	}
	return apiUpperFirst(b.String())
}

// apiNormalizePathPart is normalizePathPart: lodash capitalize (first upper,
// rest lower), "-" → "Dash", "{x}" → "xVar", then only ASCII alphanumerics.
func apiNormalizePathPart(part string) string {
	r := []rune(strings.ToLower(part))
	if len(r) > 0 {
		r[0] = unicode.ToUpper(r[0])
	}
	s := strings.ReplaceAll(string(r), "-", "Dash")
	// JavaScript's /\{(.*)\}/ is greedy: from the first "{" to the last "}".
	if i := strings.Index(s, "{"); i >= 0 {
		if j := strings.LastIndex(s, "}"); j > i {
			s = s[:i] + s[i+1:j] + "Var" + s[j+1:]
		}
	}
	var b strings.Builder
	for _, c := range s {
		if c < 128 && (unicode.IsLetter(c) || unicode.IsDigit(c)) {
			b.WriteRune(c)
		}
	}
	return apiUpperFirst(b.String())
}

// apiNormalizePath is normalizePath: every "/"-separated part normalised and
// joined ("users/{id}" → "UsersIdVar").
func apiNormalizePath(path string) string {
	parts := strings.Split(path, "/")
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(apiNormalizePathPart(p))
	}
	return b.String()
}

func apiLambdaLogicalID(fn string) string { return apiNormalizedName(fn) + "LambdaFunction" }

// apiWords splits a string into words the way lodash's words() does for the
// inputs serverless feeds it (content types, schema ids): on anything not a
// letter or digit, at lower→upper case changes, before the last capital of
// a run of capitals followed by a lower-case letter, and between letters
// and digits.
func apiWords(s string) []string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, string(cur))
			cur = nil
		}
	}
	rs := []rune(s)
	for i, r := range rs {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r)) {
			flush()
			continue
		}
		if len(cur) > 0 {
			prev := cur[len(cur)-1]
			switch {
			case unicode.IsLower(prev) && unicode.IsUpper(r):
				flush()
			case unicode.IsUpper(prev) && unicode.IsUpper(r) && i+1 < len(rs) && unicode.IsLower(rs[i+1]):
				flush()
			case unicode.IsDigit(prev) != unicode.IsDigit(r):
				flush()
			}
		}
		cur = append(cur, r)
	}
	flush()
	return words
}

// apiStartCaseJoined is lodash startCase with the spaces removed.
func apiStartCaseJoined(s string) string {
	var b strings.Builder
	for _, w := range apiWords(s) {
		b.WriteString(apiUpperFirst(w))
	}
	return b.String()
}

// apiCamelCase is lodash camelCase.
func apiCamelCase(s string) string {
	var b strings.Builder
	for i, w := range apiWords(s) {
		w = strings.ToLower(w)
		if i > 0 {
			w = apiUpperFirst(w)
		}
		b.WriteString(w)
	}
	return b.String()
}

// apiTargetAlias is the alias v3 routes API traffic to: functions with
// provisioned concurrency or SnapStart are invoked through an alias.
func apiTargetAlias(f *service.Function) (name, logicalID string) {
	if f == nil {
		return "", ""
	}
	if f.Raw.Get("provisionedConcurrency").Truthy() {
		return "provisioned", apiNormalizedName(f.Key) + "ProvConcLambdaAlias"
	}
	if f.Raw.Get("snapStart").Truthy() {
		return "snapstart", apiNormalizedName(f.Key) + "SnapStartLambdaAlias"
	}
	return "", ""
}

// apiLambdaTarget is resolveLambdaTarget: the function ARN, or
// "<arn>:<alias>" when traffic goes through an alias.
func apiLambdaTarget(f *service.Function, key string) any {
	getter := map[string]any{"Fn::GetAtt": []any{apiLambdaLogicalID(key), "Arn"}}
	if alias, _ := apiTargetAlias(f); alias != "" {
		return map[string]any{"Fn::Join": []any{":", []any{getter, alias}}}
	}
	return getter
}

// apiInvocationURI is the API Gateway → Lambda integration URI around target.
func apiInvocationURI(target any) map[string]any {
	return map[string]any{"Fn::Join": []any{"", []any{
		"arn:", map[string]any{"Ref": "AWS::Partition"}, ":apigateway:", map[string]any{"Ref": "AWS::Region"},
		":lambda:path/2015-03-31/functions/", target, "/invocations",
	}}}
}

// apiExecuteSourceArn is the execute-api ARN permissions are scoped to.
func apiExecuteSourceArn(apiID any, suffix string) map[string]any {
	return map[string]any{"Fn::Join": []any{"", []any{
		"arn:", map[string]any{"Ref": "AWS::Partition"}, ":execute-api:", map[string]any{"Ref": "AWS::Region"},
		":", map[string]any{"Ref": "AWS::AccountId"}, ":", apiID, suffix,
	}}}
}
