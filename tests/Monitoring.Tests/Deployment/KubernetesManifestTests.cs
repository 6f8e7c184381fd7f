using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using k8s;
using k8s.Models;
using Monitoring.Hosting.Cluster;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Deployment;

/// <summary>
/// k8s/ rendered by `kubectl kustomize` for every overlay and read back with the Kubernetes client's models: the
/// shape Orleans documents, ports that match the configuration, probes on endpoints the processes serve,
/// resources, and no secret in the repository.
/// </summary>
public sealed partial class KubernetesManifestTests
{
    public static TheoryData<string> Overlays => new() { "dev", "prod" };

    private static readonly HashSet<string> ServedHealthPaths = ["/health/live", "/health/ready"];

    private static async Task<List<IKubernetesObject>> RenderAsync(string overlay)
    {
        var start = new ProcessStartInfo(LocalProcesses.Find("kubectl", "/usr/local/bin/kubectl"), $"kustomize {Repository.PathTo("k8s", "overlays", overlay)}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var yaml = await process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"kubectl kustomize {overlay} failed: {error}");

        var objects = new List<IKubernetesObject>();
        foreach (var document in Regex.Split(yaml, @"^---\s*$", RegexOptions.Multiline).Where(d => !string.IsNullOrWhiteSpace(d)))
        {
            var head = KubernetesYaml.Deserialize<KubernetesObject>(document);
            if (head.ApiVersion.StartsWith("monitoring.coreos.com/", StringComparison.Ordinal))
            {
                objects.Add(head); // a CRD (ServiceMonitor): no model in the client
                continue;
            }
            objects.Add(head.Kind switch
            {
                "Deployment" => KubernetesYaml.Deserialize<V1Deployment>(document),
                "StatefulSet" => KubernetesYaml.Deserialize<V1StatefulSet>(document),
                "Service" => KubernetesYaml.Deserialize<V1Service>(document),
                "ConfigMap" => KubernetesYaml.Deserialize<V1ConfigMap>(document),
                "Secret" => KubernetesYaml.Deserialize<V1Secret>(document),
                "PodDisruptionBudget" => KubernetesYaml.Deserialize<V1PodDisruptionBudget>(document),
                "Ingress" => KubernetesYaml.Deserialize<V1Ingress>(document),
                "HorizontalPodAutoscaler" => KubernetesYaml.Deserialize<V2HorizontalPodAutoscaler>(document),
                "NetworkPolicy" => KubernetesYaml.Deserialize<V1NetworkPolicy>(document),
                "Namespace" => KubernetesYaml.Deserialize<V1Namespace>(document),
                "ServiceAccount" => KubernetesYaml.Deserialize<V1ServiceAccount>(document),
                "ClusterRole" => KubernetesYaml.Deserialize<V1ClusterRole>(document),
                "ClusterRoleBinding" => KubernetesYaml.Deserialize<V1ClusterRoleBinding>(document),
                var kind => throw new InvalidOperationException($"unexpected kind {kind}"),
            });
        }
        return objects;
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task The_silo_deployment_has_orleans_documented_shape(string overlay)
    {
        var objects = await RenderAsync(overlay);
        var silo = objects.OfType<V1Deployment>().Single(d => d.Metadata.Name == "mcp-alerting-silo");
        var config = objects.OfType<V1ConfigMap>().Single(c => c.Metadata.Name.StartsWith("mcp-alerting-config", StringComparison.Ordinal)).Data;
        var pod = silo.Spec.Template;
        var container = pod.Spec.Containers.Single();

        // Identity: orleans/serviceId and orleans/clusterId labels, passed in through the downward API.
        Assert.True(pod.Metadata.Labels.ContainsKey("orleans/serviceId") && pod.Metadata.Labels.ContainsKey("orleans/clusterId"));
        Assert.Equal("metadata.labels['orleans/serviceId']", container.Env.Single(e => e.Name == "Orleans__ServiceId").ValueFrom.FieldRef.FieldPath);
        Assert.Equal("metadata.labels['orleans/clusterId']", container.Env.Single(e => e.Name == "Orleans__ClusterId").ValueFrom.FieldRef.FieldPath);
        Assert.Equal("status.podIP", container.Env.Single(e => e.Name == "Orleans__AdvertisedIP").ValueFrom.FieldRef.FieldPath);

        // Ports: the container's match the configuration the silo reads.
        Assert.Equal(int.Parse(config["Orleans__SiloPort"]), container.Ports.Single(p => p.Name == "silo").ContainerPort);
        Assert.Equal(int.Parse(config["Orleans__GatewayPort"]), container.Ports.Single(p => p.Name == "gateway").ContainerPort);
        Assert.Equal(new Uri(config["ASPNETCORE_URLS"].Replace("+", "localhost")).Port, container.Ports.Single(p => p.Name == "http").ContainerPort);

        // Rollouts and disruptions never take a silo away before another is there; shutdown has time to hand off.
        Assert.Equal("0", silo.Spec.Strategy.RollingUpdate.MaxUnavailable.Value);
        Assert.True(pod.Spec.TerminationGracePeriodSeconds > Monitoring.Hosting.Cluster.SiloLifetime.ShutdownTimeout.TotalSeconds);
        var budget = objects.OfType<V1PodDisruptionBudget>().Single(b => b.Metadata.Name == "mcp-alerting-silo");
        Assert.Equal(silo.Spec.Selector.MatchLabels, budget.Spec.Selector.MatchLabels);

        // Resources: requests and a memory limit, and no CPU limit (throttling makes silos miss membership probes).
        Assert.True(container.Resources.Requests.ContainsKey("cpu") && container.Resources.Requests.ContainsKey("memory"));
        Assert.True(container.Resources.Limits.ContainsKey("memory"));
        Assert.False(container.Resources.Limits.ContainsKey("cpu"));
        Assert.True(pod.Spec.SecurityContext.RunAsNonRoot);
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task The_silos_may_list_and_watch_what_discovery_reads_and_nothing_else(string overlay)
    {
        var objects = await RenderAsync(overlay);
        var silo = objects.OfType<V1Deployment>().Single(d => d.Metadata.Name == "mcp-alerting-silo").Spec.Template.Spec;
        var api = objects.OfType<V1Deployment>().Single(d => d.Metadata.Name == "mcp-alerting-api").Spec.Template.Spec;
        var account = objects.OfType<V1ServiceAccount>().Single();
        Assert.Equal(account.Metadata.Name, silo.ServiceAccountName);
        Assert.False(api.AutomountServiceAccountToken ?? true); // the API never talks to Kubernetes

        var binding = objects.OfType<V1ClusterRoleBinding>().Single();
        var subject = Assert.Single(binding.Subjects);
        Assert.Equal(("ServiceAccount", account.Metadata.Name, account.Metadata.NamespaceProperty), (subject.Kind, subject.Name, subject.NamespaceProperty));
        var role = objects.OfType<V1ClusterRole>().Single(r => r.Metadata.Name == binding.RoleRef.Name);
        var granted = role.Rules.SelectMany(r => r.ApiGroups.SelectMany(g => r.Resources.SelectMany(res => r.Verbs.Select(v => $"{(g.Length == 0 ? "core" : g)}/{res}:{v}"))))
            .Order(StringComparer.Ordinal).ToArray();
        string[] needed = [.. new[] { "core/pods", "core/services", "mcp.x-k8s.io/mcpservers", "toolhive.stacklok.dev/mcpservers" }
            .SelectMany(r => new[] { $"{r}:list", $"{r}:watch" }).Order(StringComparer.Ordinal)];
        Assert.Equal(needed, granted);
        Assert.All(role.Rules, r => Assert.True(r.ResourceNames is null && r.NonResourceURLs is null));

        // What discovery asks for is what the role grants: each role's resource, listed and watched.
        foreach (var kind in Monitoring.Discovery.DiscoverySource.Roles)
        {
            var (group, _, plural, _) = Monitoring.Discovery.KubernetesTargets.Resource(kind);
            Assert.Contains($"{(group.Length == 0 ? "core" : group)}/{plural}:watch", granted);
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Probes_point_at_served_endpoints_and_every_container_has_resources(string overlay)
    {
        var objects = await RenderAsync(overlay);
        var product = objects.OfType<V1Deployment>().Where(d => d.Metadata.Name.StartsWith("mcp-alerting-", StringComparison.Ordinal)).ToList();
        Assert.Equal(["mcp-alerting-api", "mcp-alerting-silo"], product.Select(d => d.Metadata.Name).Order());
        foreach (var container in product.SelectMany(d => d.Spec.Template.Spec.Containers))
        {
            foreach (var probe in new[] { container.LivenessProbe, container.ReadinessProbe, container.StartupProbe }.Where(p => p is not null))
            {
                Assert.Contains(probe.HttpGet.Path, ServedHealthPaths);
                Assert.Contains(container.Ports, p => p.Name == probe.HttpGet.Port.Value);
            }
            Assert.NotNull(container.ReadinessProbe);
            Assert.Equal("/health/ready", container.ReadinessProbe.HttpGet.Path);
            Assert.Equal("/health/live", container.LivenessProbe.HttpGet.Path);
        }
        foreach (var container in objects.OfType<V1Deployment>().SelectMany(d => d.Spec.Template.Spec.Containers)
                     .Concat(objects.OfType<V1StatefulSet>().SelectMany(s => s.Spec.Template.Spec.Containers)))
        {
            Assert.True(container.Resources?.Requests?.Count > 0, $"{container.Name} has no resource requests");
        }

        // Around them: the API's Service, Ingress and autoscaler, the ServiceMonitor, and NetworkPolicies.
        var api = objects.OfType<V1Service>().Single(s => s.Metadata.Name == "mcp-alerting-api");
        Assert.Equal("mcp-alerting-api", objects.OfType<V1Ingress>().Single().Spec.Rules[0].Http.Paths[0].Backend.Service.Name);
        Assert.Equal("mcp-alerting-api", objects.OfType<V2HorizontalPodAutoscaler>().Single().Spec.ScaleTargetRef.Name);
        Assert.Equal("mcp-alerting-api", api.Spec.Selector["app.kubernetes.io/name"]);
        Assert.Contains(objects, o => o.Kind == "ServiceMonitor");
        Assert.Contains(objects.OfType<V1NetworkPolicy>(), p => p.Spec.PodSelector.MatchLabels["app.kubernetes.io/name"] == "mcp-alerting-silo");
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task No_plain_secret_is_in_the_manifests(string overlay)
    {
        var objects = await RenderAsync(overlay);
        var containers = objects.OfType<V1Deployment>().SelectMany(d => d.Spec.Template.Spec.Containers)
            .Concat(objects.OfType<V1StatefulSet>().SelectMany(s => s.Spec.Template.Spec.Containers));
        foreach (var variable in containers.SelectMany(c => c.Env ?? []))
        {
            if (SensitiveName().IsMatch(variable.Name))
            {
                Assert.True(variable.ValueFrom?.SecretKeyRef is not null, $"{variable.Name} must come from a Secret");
            }
            Assert.DoesNotMatch(SecretValue(), variable.Value ?? "");
        }
        foreach (var value in objects.OfType<V1ConfigMap>().SelectMany(c => c.Data?.Values ?? (IEnumerable<string>)[]))
        {
            Assert.DoesNotMatch(SecretValue(), value);
        }
        var secrets = objects.OfType<V1Secret>().ToList();
        if (overlay == "prod")
        {
            Assert.Empty(secrets); // created from the secret store, never from the repository
        }
        foreach (var value in secrets.SelectMany(s => (s.Data ?? new Dictionary<string, byte[]>()).Values.Select(v => System.Text.Encoding.UTF8.GetString(v))
                     .Concat(s.StringData?.Values ?? [])))
        {
            Assert.DoesNotMatch(SecretValue(), value);
        }
    }

    [GeneratedRegex("(?i)password|secret|token|connectionstrings")]
    private static partial Regex SensitiveName();

    [GeneratedRegex("(?i)password\\s*=\\s*[^;…\\s]|xox[bp]-|-----BEGIN")]
    private static partial Regex SecretValue();
}
