package aws

import (
	"strings"
	"unicode"

	"github.com/nimbusfw/nimbus/internal/service"
)

// Naming and intrinsic helpers only the API compilers need; the shared
// logical-ID rules live in naming.go. Model logical IDs go through lodash's
// startCase and camelCase, reproduced here for the inputs v3 feeds them.

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
		b.WriteString(UpperFirst(w))
	}
	return b.String()
}

// apiCamelCase is lodash camelCase.
func apiCamelCase(s string) string {
	var b strings.Builder
	for i, w := range apiWords(s) {
		w = strings.ToLower(w)
		if i > 0 {
			w = UpperFirst(w)
		}
		b.WriteString(w)
	}
	return b.String()
}

// apiAlias is the alias a function's API traffic goes through (provisioned
// concurrency or SnapStart), "" when none or when f is nil.
func (c *Context) apiAlias(f *service.Function) (name, logicalID string) {
	if f == nil {
		return "", ""
	}
	name, logicalID, _ = c.FunctionAlias(f.Key)
	return name, logicalID
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
