package aws

import "testing"

// Expected values are the outputs of serverless v3's naming.js for the same
// inputs (see docs/serverless-v3-behaviour.md examples).
func TestNaming(t *testing.T) {
	cases := []struct{ got, want string }{
		{NormalizePath("users/{id}"), "UsersIdVar"},
		{NormalizePath("userProfile"), "Userprofile"},
		{NormalizePath("{userId}"), "UseridVar"},
		{NormalizePath("{proxy+}"), "ProxyVar"},
		{NormalizePath("my-path/sub_path"), "MyDashpathSubpath"},
		{NormalizeFunctionName("my-fn_2"), "MyDashfnUnderscore2"},
		{FunctionLogicalID("hello"), "HelloLambdaFunction"},
		{LogGroupLogicalID("hello-world"), "HelloDashworldLogGroup"},
		{NormalizeNameToAlphaNumericOnly("my-queue.fifo"), "Myqueuefifo"},
		{MethodLogicalID("UsersIdVar", "GET"), "ApiGatewayMethodUsersIdVarGet"},
		{HTTPAPIRouteLogicalID("GET /users/{id}"), "HttpApiRouteGetUsersIdVar"},
		{HTTPAPIRouteLogicalID("*"), "HttpApiRouteDefault"},
		{WebsocketsRouteLogicalID("$connect"), "SconnectWebsocketsRoute"},
		{VersionLogicalID("a", "ab+/c="), "ALambdaVersionabc"},
		{LayerPermissionLogicalID("my_layer", "*"), "MyUnderscorelayerWildLambdaLayerPermission"},
		{SchedulePermissionLogicalID("f", 2), "FLambdaPermissionEventsRuleSchedule2"},
		{AlexaSkillPermissionLogicalID("f", 0), "FLambdaPermissionAlexaSkill0"},
		{KafkaEventLogicalID("f", "t.t"), "FEventSourceMappingKafkaTt"},
		{CustomResourceFunctionLogicalID("custom-resource-existing-s3"), "CustomDashresourceDashexistingDashs3LambdaFunction"},
		{UpperFirst(""), ""},
		{itoa(-12), "-12"},
	}
	for i, c := range cases {
		if c.got != c.want {
			t.Errorf("case %d: got %q, want %q", i, c.got, c.want)
		}
	}
}

func FuzzNormalizePath(f *testing.F) {
	for _, s := range []string{"users/{id}", "{proxy+}", "a-b/c_d", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := NormalizePath(s)
		if nonAlphaNumeric.MatchString(out) {
			t.Fatalf("NormalizePath(%q) = %q has non-alphanumerics", s, out)
		}
	})
}
