// Google-managed service agents by resource, not by a hard-coded email. A service agent exists only
// once its service has created it, which some services do lazily, on first use: an IAM grant to a
// hard-coded agent email on a fresh project fails with "service account does not exist". The
// google_project_service_identity resource asks Service Usage to create the agent and returns its
// email (https://cloud.google.com/service-usage/docs/reference/rest/v1beta1/services/generateServiceIdentity,
// https://registry.terraform.io/providers/hashicorp/google-beta/latest/docs/resources/project_service_identity).
// It exists in the google-beta provider only, and @cdktf/provider-google has no binding for it, so it
// is declared here as a plain Terraform resource of that provider.
import { Construct } from 'constructs';
import { TerraformProvider, TerraformResource, type ITerraformDependable } from 'cdktf';

/** The google-beta provider, at the same version line as the google provider the stack uses. */
export class GoogleBetaProvider extends TerraformProvider {
  constructor(
    scope: Construct,
    id: string,
    private readonly attrs: { project: string; region: string },
  ) {
    super(scope, id, {
      terraformResourceType: 'google-beta',
      terraformGeneratorMetadata: { providerName: 'google-beta', providerVersionConstraint: '~> 6.0' },
      terraformProviderSource: 'hashicorp/google-beta',
    });
  }

  protected override synthesizeAttributes(): Record<string, unknown> {
    return { project: this.attrs.project, region: this.attrs.region };
  }
}

/** google_project_service_identity: the service agent of one API in one project. */
export class ProjectServiceIdentity extends TerraformResource {
  constructor(
    scope: Construct,
    id: string,
    private readonly args: { project: string; service: string; provider: GoogleBetaProvider; dependsOn: ITerraformDependable[] },
  ) {
    super(scope, id, {
      terraformResourceType: 'google_project_service_identity',
      terraformGeneratorMetadata: { providerName: 'google-beta' },
      provider: args.provider,
      dependsOn: args.dependsOn,
    });
  }

  /** `serviceAccount:<agent email>`, ready for an IAM member. */
  get member(): string {
    return this.getStringAttribute('member');
  }

  protected override synthesizeAttributes(): Record<string, unknown> {
    return { project: this.args.project, service: this.args.service };
  }
}
