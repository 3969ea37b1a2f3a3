using System.Reflection;
using System.Reflection.Emit;
using CausalKv.Node.Replication;
using Xunit.Abstractions;

namespace CausalKv.Tests.Structure;

/// <summary>
/// The node's folders depend on each other one way: Hosting composes everything, Api sits on Cluster, Cluster on
/// Replication, Replication on Storage, and Telemetry and Faults at the bottom. A type reference that points back up
/// (in a signature or in a method body) makes a cycle, and this test names it.
/// </summary>
public sealed class NamespaceDependencyTests(ITestOutputHelper output)
{
    private const string Root = "CausalKv.Node.";

    [Fact]
    public void The_nodes_namespaces_form_no_cycle()
    {
        var graph = NamespaceGraph.Of(typeof(ReplicationCoordinator).Assembly, Root);

        var cycles = graph.Cycles();
        output.WriteLine(graph.Summary());

        Assert.True(cycles.Count == 0,
            "Namespace cycles in CausalKv.Node:\n" + string.Join("\n", cycles.Select(graph.Describe)));
    }

    [Fact]
    public void A_peer_link_does_not_call_its_coordinator_back()
    {
        // The link is given how to make a digest and a message as delegates, and tells what it heard in a PeerHeard:
        // it never names the coordinator that owns it. The coordinator names the link (it makes and drives it).
        var graph = NamespaceGraph.Of(typeof(ReplicationCoordinator).Assembly, Root, byType: true);

        Assert.Empty(graph.Uses("Replication.PeerLink", "Replication.ReplicationCoordinator"));
        Assert.Empty(graph.Uses("Replication.PeerHeard", "Replication.ReplicationCoordinator"));
        Assert.NotEmpty(graph.Uses("Replication.ReplicationCoordinator", "Replication.PeerLink"));
    }

    [Fact]
    public void The_scan_sees_references_in_signatures_and_in_method_bodies()
    {
        var graph = NamespaceGraph.Of(typeof(ReplicationCoordinator).Assembly, Root);

        // The admin endpoints take the coordinator as a handler parameter; the composition root news nothing up but
        // registers types, which only its method bodies name.
        Assert.Contains("AdminApi->ReplicationCoordinator", graph.Uses("Api", "Replication"));
        Assert.Contains("NodeProtocol->ViewChanger", graph.Uses("Hosting", "Cluster"));
    }
}

/// <summary>Which of an assembly's namespaces (under one root) use which, and through which types.</summary>
internal sealed class NamespaceGraph
{
    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    private const BindingFlags Declared =
        BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    private readonly string _root;
    private readonly bool _byType;
    private readonly Dictionary<(string From, string To), SortedSet<string>> _edges = new();

    private NamespaceGraph(string root, bool byType)
    {
        _root = root;
        _byType = byType;
    }

    /// <param name="byType">one vertex per top-level type (its nested and generated types included) instead of per namespace</param>
    public static NamespaceGraph Of(Assembly assembly, string root, bool byType = false)
    {
        var graph = new NamespaceGraph(root, byType);
        foreach (var type in assembly.GetTypes())
        {
            if (graph.NamespaceOf(type) is { } from)
            {
                graph.Scan(type, from);
            }
        }

        return graph;
    }

    /// <summary>Each namespace and the namespaces it uses, one line each.</summary>
    public string Summary() => string.Join("\n", _edges.Keys
        .GroupBy(e => e.From, e => e.To)
        .OrderBy(g => g.Key)
        .Select(g => $"{g.Key} -> {string.Join(", ", g.Order())}"));

    public IReadOnlySet<string> Uses(string from, string to) =>
        _edges.TryGetValue((from, to), out var uses) ? uses : new SortedSet<string>();

    public IReadOnlyList<IReadOnlyList<string>> Cycles()
    {
        // Tarjan's strongly connected components; every component of more than one namespace is a cycle.
        var nodes = _edges.Keys.SelectMany(e => new[] { e.From, e.To }).Distinct().Order().ToList();
        var index = new Dictionary<string, int>();
        var low = new Dictionary<string, int>();
        var stack = new Stack<string>();
        var onStack = new HashSet<string>();
        var components = new List<IReadOnlyList<string>>();
        var next = 0;

        void Visit(string node)
        {
            index[node] = low[node] = next++;
            stack.Push(node);
            onStack.Add(node);
            foreach (var to in _edges.Keys.Where(e => e.From == node).Select(e => e.To).Order())
            {
                if (!index.ContainsKey(to))
                {
                    Visit(to);
                    low[node] = Math.Min(low[node], low[to]);
                }
                else if (onStack.Contains(to))
                {
                    low[node] = Math.Min(low[node], index[to]);
                }
            }

            if (low[node] == index[node])
            {
                var component = new List<string>();
                string member;
                do
                {
                    member = stack.Pop();
                    onStack.Remove(member);
                    component.Add(member);
                }
                while (member != node);

                if (component.Count > 1)
                {
                    components.Add(component.Order().ToList());
                }
            }
        }

        foreach (var node in nodes.Where(n => !index.ContainsKey(n)))
        {
            Visit(node);
        }

        return components;
    }

    public string Describe(IReadOnlyList<string> component) =>
        string.Join(", ", component) + ":\n" + string.Join("\n", _edges
            .Where(e => component.Contains(e.Key.From) && component.Contains(e.Key.To))
            .OrderBy(e => e.Key.From).ThenBy(e => e.Key.To)
            .Select(e => $"  {e.Key.From} -> {e.Key.To}: {string.Join(", ", e.Value)}"));

    private string? NamespaceOf(Type type)
    {
        while (type.IsNested)
        {
            type = type.DeclaringType!;
        }

        var ns = type.Namespace;
        if (ns is null || !ns.StartsWith(_root, StringComparison.Ordinal))
        {
            return null;
        }

        var rest = ns[_root.Length..];
        var dot = rest.IndexOf('.');
        var folder = dot < 0 ? rest : rest[..dot];
        return _byType ? $"{folder}.{type.Name}" : folder;
    }

    private void Scan(Type type, string from)
    {
        var source = TopLevel(type).Name;
        Use(from, source, type.BaseType);
        foreach (var face in type.GetInterfaces())
        {
            Use(from, source, face);
        }

        foreach (var field in type.GetFields(Declared))
        {
            Use(from, source, field.FieldType);
        }

        foreach (var property in type.GetProperties(Declared))
        {
            Use(from, source, property.PropertyType);
        }

        foreach (var method in type.GetMethods(Declared).Cast<MethodBase>().Concat(type.GetConstructors(Declared)))
        {
            if (method is MethodInfo info)
            {
                Use(from, source, info.ReturnType);
            }

            foreach (var parameter in method.GetParameters())
            {
                Use(from, source, parameter.ParameterType);
            }

            ScanBody(from, source, method);
        }
    }

    private void ScanBody(string from, string source, MethodBase method)
    {
        var body = method.GetMethodBody();
        var il = body?.GetILAsByteArray();
        if (body is null || il is null)
        {
            return;
        }

        foreach (var local in body.LocalVariables)
        {
            Use(from, source, local.LocalType);
        }

        var module = method.Module;
        var typeArguments = method.DeclaringType is { IsGenericType: true } declaring ? declaring.GetGenericArguments() : null;
        var methodArguments = method.IsGenericMethod ? method.GetGenericArguments() : null;
        var at = 0;
        while (at < il.Length)
        {
            OpCode code;
            if (il[at] == 0xFE)
            {
                code = OpCodesByValue[unchecked((short)(0xFE00 | il[at + 1]))];
                at += 2;
            }
            else
            {
                code = OpCodesByValue[il[at]];
                at += 1;
            }

            switch (code.OperandType)
            {
                case OperandType.InlineMethod:
                case OperandType.InlineField:
                case OperandType.InlineType:
                case OperandType.InlineTok:
                    var token = BitConverter.ToInt32(il, at);
                    try
                    {
                        switch (module.ResolveMember(token, typeArguments, methodArguments))
                        {
                            case Type referenced:
                                Use(from, source, referenced);
                                break;
                            case MethodBase called:
                                Use(from, source, called.DeclaringType);
                                if (called is MethodInfo { IsGenericMethod: true } generic)
                                {
                                    foreach (var argument in generic.GetGenericArguments())
                                    {
                                        Use(from, source, argument);
                                    }
                                }

                                break;
                            case FieldInfo field:
                                Use(from, source, field.DeclaringType);
                                Use(from, source, field.FieldType);
                                break;
                        }
                    }
                    catch (ArgumentException)
                    {
                        // A token into a generic context this scan does not carry; its types appear in signatures.
                    }

                    at += 4;
                    break;
                case OperandType.InlineSwitch:
                    at += 4 + (4 * BitConverter.ToInt32(il, at));
                    break;
                case OperandType.InlineNone:
                    break;
                case OperandType.ShortInlineBrTarget:
                case OperandType.ShortInlineI:
                case OperandType.ShortInlineVar:
                    at += 1;
                    break;
                case OperandType.InlineVar:
                    at += 2;
                    break;
                case OperandType.InlineI8:
                case OperandType.InlineR:
                    at += 8;
                    break;
                default:
                    at += 4;
                    break;
            }
        }
    }

    private void Use(string from, string source, Type? type)
    {
        if (type is null)
        {
            return;
        }

        if (type.HasElementType)
        {
            Use(from, source, type.GetElementType());
            return;
        }

        if (type.IsGenericType && !type.IsGenericTypeDefinition)
        {
            foreach (var argument in type.GetGenericArguments())
            {
                Use(from, source, argument);
            }

            type = type.GetGenericTypeDefinition();
        }

        if (type.IsGenericParameter || NamespaceOf(type) is not { } to || to == from)
        {
            return;
        }

        var key = (from, to);
        if (!_edges.TryGetValue(key, out var uses))
        {
            _edges[key] = uses = new SortedSet<string>(StringComparer.Ordinal);
        }

        uses.Add($"{source}->{TopLevel(type).Name}");
    }

    private static Type TopLevel(Type type)
    {
        while (type.IsNested)
        {
            type = type.DeclaringType!;
        }

        return type;
    }
}
