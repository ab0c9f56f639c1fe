package aws

func init() { apiCloudWatchRoleHandler = apiAddCloudWatchRoleHandler }

// apiAddCloudWatchRoleHandler adds the Lambda behind
// CustomApiGatewayAccountCloudWatchRole with the IAM permissions it needs to
// create the role and attach it to the API Gateway account.
func apiAddCloudWatchRoleHandler(c *Context) {
	addCustomResource(c, CustomResourceAPIGatewayCWRole, []any{
		map[string]any{
			"Effect": "Allow",
			"Resource": map[string]any{"Fn::Join": []any{":", []any{
				"arn", map[string]any{"Ref": "AWS::Partition"}, "iam:", map[string]any{"Ref": "AWS::AccountId"}, "role/*",
			}}},
			"Action": []any{"iam:AttachRolePolicy", "iam:CreateRole", "iam:ListAttachedRolePolicies", "iam:PassRole"},
		},
		map[string]any{
			"Effect": "Allow",
			"Resource": map[string]any{"Fn::Join": []any{":", []any{
				"arn", map[string]any{"Ref": "AWS::Partition"}, "apigateway:*::/account",
			}}},
			"Action": []any{"apigateway:GET", "apigateway:PATCH"},
		},
	})
}
