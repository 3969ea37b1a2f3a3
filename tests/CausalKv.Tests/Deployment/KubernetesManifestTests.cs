using System.Globalization;
using System.Reflection;
using CausalKv.Node.Configuration;
using Microsoft.Extensions.Configuration;
using k8s.Models;

namespace CausalKv.Tests.Deployment;

/// <summary>
/// deploy/kubernetes, checked offline against the code: each kustomization renders, every object parses with the
/// official models (unknown fields refused), and what the objects say agrees with what the node and the router read.
/// </summary>
public sealed class KubernetesManifestTests
{
    public static TheoryData<string> Kustomizations => new() { "base", "overlays/three-shards" };

    private const string NodeSet = "kv";
    private const string NodeService = "kv-nodes";
    private const string Router = "kv-router";
    private const string ClusterKeySecret = "causalkv-cluster-key";

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public async Task It_renders_and_every_object_is_a_known_kubernetes_object(string kustomization)
    {
        var d = await RenderedDeployment.RenderAsync(kustomization);
        var kinds = d.Objects.Select(o => o.GetType().Name).Order().ToList();
        Assert.Equal(
            ["V1ConfigMap", "V1Deployment", "V1NetworkPolicy", "V1PodDisruptionBudget", "V1PodDisruptionBudget", "V1Service", "V1Service", "V1StatefulSet"],
            kinds);
        Assert.All(d.Objects.Cast<IMetadata<V1ObjectMeta>>(), o => Assert.Equal("causalkv", o.Metadata.Labels?["app.kubernetes.io/part-of"]));
    }

    [Fact]
    public void An_unknown_field_is_an_error_when_reading_rendered_objects()
    {
        const string yaml = "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  publishNotReadyAdresses: true\n";
        Assert.ThrowsAny<Exception>(() => k8s.KubernetesYaml.LoadAllFromString(yaml, null, strict: true));
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public async Task The_nodes_are_a_stateful_set_behind_a_headless_service_that_names_pods_before_they_are_ready(string kustomization)
    {
        var d = await RenderedDeployment.RenderAsync(kustomization);
        var set = d.Single<V1StatefulSet>(NodeSet);
        var service = d.Single<V1Service>(NodeService);
        Assert.Equal(NodeService, set.Spec.ServiceName);
        Assert.Equal("None", service.Spec.ClusterIP);
        Assert.True(service.Spec.PublishNotReadyAddresses, "a node is not ready before its first view, which is installed by name");
        Assert.Equal("Parallel", set.Spec.PodManagementPolicy);
        Assert.True(Selects(service.Spec.Selector, set.Spec.Template.Metadata.Labels));
        Assert.True(Selects(set.Spec.Selector.MatchLabels, set.Spec.Template.Metadata.Labels));

        var node = set.Spec.Template.Spec.Containers.Single();
        var env = NodeEnvironment(d, set, ordinal: 3);
        Assert.Equal("3", env["NODE_IDENTIFIER"]);
        var dataDirectory = env[$"{NodeOptions.Section}__{nameof(NodeOptions.DataDirectory)}"];
        var claim = Assert.Single(set.Spec.VolumeClaimTemplates);
        var mount = Assert.Single(node.VolumeMounts, m => m.Name == claim.Metadata.Name);
        Assert.Equal(dataDirectory, mount.MountPath);
        Assert.Equal("ReadWriteOnce", Assert.Single(claim.Spec.AccessModes));
        Assert.True(set.Spec.Template.Spec.TerminationGracePeriodSeconds >= 30, "a node finishes the requests in flight before it exits");
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public async Task Probes_ask_the_endpoints_the_service_defaults_map_on_the_port_the_process_listens_on(string kustomization)
    {
        var d = await RenderedDeployment.RenderAsync(kustomization);
        foreach (var (template, env) in Templates(d))
        {
            var container = template.Spec.Containers.Single();
            var port = int.Parse(env["ASPNETCORE_HTTP_PORTS"], CultureInfo.InvariantCulture);
            var named = Assert.Single(container.Ports, p => p.Name == "http");
            Assert.Equal(port, named.ContainerPort);
            Assert.Equal("/alive", container.LivenessProbe.HttpGet.Path);
            Assert.Equal("/health", container.ReadinessProbe.HttpGet.Path);
            Assert.Equal("http", container.LivenessProbe.HttpGet.Port.Value);
            Assert.Equal("http", container.ReadinessProbe.HttpGet.Port.Value);
            Assert.True(container.Resources?.Requests?.ContainsKey("cpu") == true, $"{container.Name} requests no CPU");
            Assert.True(container.Resources?.Requests?.ContainsKey("memory") == true, $"{container.Name} requests no memory");
            Assert.True(container.Resources?.Limits?.ContainsKey("memory") == true, $"{container.Name} has no memory limit");
        }
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public async Task Every_CausalKv_setting_given_to_a_pod_is_one_the_node_or_the_router_reads(string kustomization)
    {
        var d = await RenderedDeployment.RenderAsync(kustomization);
        var (nodeEnv, routerEnv) = (NodeEnvironment(d, d.Single<V1StatefulSet>(NodeSet), 0), RouterEnvironment(d));
        foreach (var name in nodeEnv.Keys.Where(k => k.StartsWith("CausalKv__", StringComparison.Ordinal)))
            Assert.True(Binds(name, typeof(NodeOptions)), $"the node reads no setting {name}");
        foreach (var name in routerEnv.Keys.Where(k => k.StartsWith("CausalKv__", StringComparison.Ordinal)))
            Assert.True(Binds(name, RouterOptionsType), $"the router reads no setting {name}");
        // What each needs to take part in a cluster.
        Assert.False(string.IsNullOrEmpty(nodeEnv["CausalKv__ClusterKey"]));
        Assert.False(string.IsNullOrEmpty(routerEnv["CausalKv__ClusterKey"]));
        Assert.False(string.IsNullOrEmpty(nodeEnv["CausalKv__DataDirectory"]), "without a data directory a node keeps nothing across a restart");
        Assert.Equal(nodeEnv["CausalKv__ClusterKey"], routerEnv["CausalKv__ClusterKey"]);
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public async Task The_cluster_key_comes_from_its_secret_and_is_never_written_into_the_deployment(string kustomization)
    {
        var d = await RenderedDeployment.RenderAsync(kustomization);
        Assert.Empty(d.All<V1Secret>());
        Assert.DoesNotContain(TestSecretValue, d.Yaml, StringComparison.Ordinal);
        foreach (var (template, _) in Templates(d))
        {
            var key = Assert.Single(template.Spec.Containers.Single().Env, e => e.Name == "CausalKv__ClusterKey");
            Assert.Null(key.Value);
            Assert.Equal(ClusterKeySecret, key.ValueFrom.SecretKeyRef.Name);
        }
        foreach (var map in d.All<V1ConfigMap>())
            Assert.DoesNotContain(map.Data.Keys, k => k.Contains("ClusterKey", StringComparison.OrdinalIgnoreCase));
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public async Task The_declared_cluster_is_the_pods_the_stateful_set_runs_under_the_names_they_get(string kustomization)
    {
        var d = await RenderedDeployment.RenderAsync(kustomization);
        var set = d.Single<V1StatefulSet>(NodeSet);
        var routerEnv = RouterEnvironment(d);
        // The router reads the declaration as it reads any configuration: environment variables, '__' for ':'.
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(routerEnv.Select(kv => new KeyValuePair<string, string?>(kv.Key.Replace("__", ":", StringComparison.Ordinal), kv.Value)))
            .Build();
        var options = new CausalKv.Router.Reconciliation.DeclarationOptions();
        ConfigurationBinder.Bind(configuration.GetSection(CausalKv.Router.Reconciliation.DeclarationOptions.Section), options);
        options.ReadMemberList(configuration);
        Assert.True(options.TryBuild(out var declaration, out var error), error);
        Assert.Equal(set.Spec.Replicas, declaration!.Members.Count);
        var port = int.Parse(NodeEnvironment(d, set, 0)["ASPNETCORE_HTTP_PORTS"], CultureInfo.InvariantCulture);
        Assert.Equal(port, options.Port);
        foreach (var member in declaration.Members)
        {
            // Member N is pod kv-N under the headless Service, and its id in views is that pod's node id.
            Assert.Equal($"{set.Metadata.Name}-{member.Id}.{set.Spec.ServiceName}", member.Name);
            Assert.Equal(member.Id.ToString(CultureInfo.InvariantCulture), NodeEnvironment(d, set, member.Id)["NODE_IDENTIFIER"]);
        }
        // Every pod serves: no spare beyond the declared shards.
        Assert.Equal(declaration.Members.Count, declaration.Shards.Sum(s => s.Members.Count));
        Assert.True(declaration.Generation >= 1);
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public async Task Disruption_budgets_and_the_network_policy_select_the_pods_they_are_for(string kustomization)
    {
        var d = await RenderedDeployment.RenderAsync(kustomization);
        var nodeLabels = d.Single<V1StatefulSet>(NodeSet).Spec.Template.Metadata.Labels;
        var routerLabels = d.Single<V1Deployment>(Router).Spec.Template.Metadata.Labels;
        Assert.True(Selects(d.Single<V1PodDisruptionBudget>("kv-nodes").Spec.Selector.MatchLabels, nodeLabels));
        Assert.Equal("1", d.Single<V1PodDisruptionBudget>("kv-nodes").Spec.MaxUnavailable.Value);
        Assert.True(Selects(d.Single<V1PodDisruptionBudget>("kv-router").Spec.Selector.MatchLabels, routerLabels));
        Assert.True(d.Single<V1Deployment>(Router).Spec.Replicas >= 2);
        Assert.True(Selects(d.Single<V1Service>("kv").Spec.Selector, routerLabels));

        var policy = Assert.Single(d.All<V1NetworkPolicy>());
        Assert.True(Selects(policy.Spec.PodSelector.MatchLabels, nodeLabels));
        var peers = policy.Spec.Ingress.SelectMany(rule => rule.FromProperty).ToList();
        Assert.All(peers, p => Assert.Null(p.IpBlock));
        Assert.Contains(peers, p => Selects(p.PodSelector.MatchLabels, nodeLabels));
        Assert.Contains(peers, p => Selects(p.PodSelector.MatchLabels, routerLabels));
        // Nothing but nodes, routers and pods labelled as direct clients: no selector that matches every pod.
        Assert.All(peers, p => Assert.NotEmpty(p.PodSelector.MatchLabels));
    }

    internal const string TestSecretValue = "test-cluster-key-5f1c9b0e";

    internal static readonly IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Secrets =
        new Dictionary<string, IReadOnlyDictionary<string, string>> { [ClusterKeySecret] = new Dictionary<string, string> { ["key"] = TestSecretValue } };

    internal static Dictionary<string, string> NodeEnvironment(RenderedDeployment d, V1StatefulSet set, int ordinal) =>
        PodEnvironment.For(set.Spec.Template.Spec.Containers.Single(), $"{set.Metadata.Name}-{ordinal}",
            PodEnvironment.StatefulSetPodLabels(set, ordinal), d, Secrets);

    internal static Dictionary<string, string> RouterEnvironment(RenderedDeployment d)
    {
        var router = d.Single<V1Deployment>(Router);
        return PodEnvironment.For(router.Spec.Template.Spec.Containers.Single(), $"{Router}-0",
            (IReadOnlyDictionary<string, string>)router.Spec.Template.Metadata.Labels, d, Secrets);
    }

    private static IEnumerable<(V1PodTemplateSpec Template, Dictionary<string, string> Env)> Templates(RenderedDeployment d)
    {
        var set = d.Single<V1StatefulSet>(NodeSet);
        yield return (set.Spec.Template, NodeEnvironment(d, set, 0));
        yield return (d.Single<V1Deployment>(Router).Spec.Template, RouterEnvironment(d));
    }

    private static bool Selects(IDictionary<string, string>? selector, IDictionary<string, string>? labels) =>
        selector is { Count: > 0 } && labels is not null && selector.All(s => labels.TryGetValue(s.Key, out var v) && v == s.Value);

    private static readonly Type RouterOptionsType = typeof(CausalKv.Router.RouterOptions);

    /// <summary>Whether configuration key <paramref name="name"/> (<c>CausalKv__A__B</c>) binds to a property of <paramref name="options"/>.</summary>
    private static bool Binds(string name, Type options)
    {
        var parts = name.Split("__");
        if (parts is [_, "Cluster", var key, ..] && options == RouterOptionsType)
            return Property(typeof(CausalKv.Router.Reconciliation.DeclarationOptions), key) is not null;
        if (parts is [_, "Router", var own] && options == RouterOptionsType) return Property(options, own) is not null;
        return parts.Length == 2 && Property(options, parts[1]) is not null;
    }

    private static PropertyInfo? Property(Type type, string name) =>
        type.GetProperty(name, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase) is { CanWrite: true } p ? p : null;
}
