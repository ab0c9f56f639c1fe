package aws

import (
	"regexp"
	"strings"

	"github.com/nimbusfw/nimbus/internal/cfn"
	"github.com/nimbusfw/nimbus/internal/config"
)

// cloudwatchLog events: a subscription filter per log group and one
// permission per function for CloudWatch Logs to invoke it, scoped to the
// common prefix of the function's log groups (v3 events/cloud-watch-log.js).

func init() { registerEvent(orderCloudWatchLog, compileCloudWatchLogs, "cloudwatchLog") }

// cloudWatchLogFiltersPerGroup is AWS's limit on subscription filters per
// log group, which v3 enforces across the service.
const cloudWatchLogFiltersPerGroup = 2

var escapedQuoteOrBackslash = regexp.MustCompile(`\\("|\\|')`)

func compileCloudWatchLogs(c *Context) {
	perGroup := map[string]int{}
	for _, f := range c.Svc.Functions {
		n := 0
		var groups []string
		for _, e := range f.Events {
			if e.Type != "cloudwatchLog" {
				continue
			}
			n++
			fe := FunctionEvent{Function: f, Event: e}
			v := e.Value
			var group, filter string
			if v != nil && v.Kind == config.Map {
				group = withoutLineBreaks(v.Get("logGroup"))
				filter = withoutLineBreaks(v.Get("filter"))
			} else {
				group = withoutLineBreaks(v)
			}
			perGroup[group]++
			if perGroup[group] > cloudWatchLogFiltersPerGroup {
				c.Diags.Errorf(eventPos(fe, "logGroup"), eventPath(fe),
					`Only %d subscription filters can be configured per log group. You're attempting to configure more subscription filters than allowed for "%s".`,
					cloudWatchLogFiltersPerGroup, group)
				continue
			}
			groups = append(groups, group)
			filterID := CloudWatchLogLogicalID(f.Key, n)
			permissionID := CloudWatchLogPermissionLogicalID(f.Key)

			// v3 unescapes \" \\ \' once when the first quote comes after a backslash.
			slash, quote := strings.Index(filter, `\`), strings.Index(filter, `"`)
			if slash >= 0 && quote >= 0 && quote > slash {
				filter = escapedQuoteOrBackslash.ReplaceAllString(filter, "$1")
			}
			dependsOn := []any{permissionID}
			_, alias := eventTargetAlias(f)
			if alias != "" {
				dependsOn = append(dependsOn, alias)
			}
			// LogGroupName is spliced into v3's JSON text unquoted-escaped.
			groupValue, err := parseJSONTemplate(`{"v": "` + group + `"}`)
			if err != nil {
				c.Diags.Errorf(eventPos(fe, "logGroup"), eventPath(fe),
					"log group name %q contains characters v3 cannot place in its template", group)
				continue
			}
			subscription := map[string]any{
				"Type":      "AWS::Logs::SubscriptionFilter",
				"DependsOn": dependsOn,
				"Properties": map[string]any{
					"LogGroupName":   groupValue["v"],
					"FilterPattern":  filter,
					"DestinationArn": lambdaTarget(f),
				},
			}
			perm := map[string]any{
				"Type": "AWS::Lambda::Permission",
				"Properties": map[string]any{
					"FunctionName": lambdaTarget(f),
					"Action":       "lambda:InvokeFunction",
					"Principal":    cfn.Join("", "logs.", cfn.Ref("AWS::Region"), ".amazonaws.com"),
					"SourceArn": cfn.Join("", "arn:", cfn.Ref("AWS::Partition"), ":logs:", cfn.Ref("AWS::Region"), ":",
						cfn.Ref("AWS::AccountId"), ":log-group:", commonLogGroupPrefix(groups), ":*"),
				},
			}
			if alias != "" {
				perm["DependsOn"] = []any{alias}
			}
			mergeEventResources(c.Template, map[string]any{filterID: subscription, permissionID: perm})
		}
	}
}

// commonLogGroupPrefix is v3's longestCommonSuffix (despite its name, the
// common prefix), with "*" appended when it covers several groups.
func commonLogGroupPrefix(groups []string) string {
	if len(groups) == 0 {
		return ""
	}
	common := groups[0]
	for _, g := range groups[1:] {
		i := 0
		for i < len(common) && i < len(g) && common[i] == g[i] {
			i++
		}
		if i < len(common) {
			common = common[:i]
		}
	}
	if len(groups) > 1 && !strings.HasSuffix(common, "*") {
		common += "*"
	}
	return common
}
