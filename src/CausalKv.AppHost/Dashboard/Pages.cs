namespace CausalKv.AppHost.Dashboard;

/// <summary>The dashboard's pages: static HTML that reads the JSON API.</summary>
internal static class Pages
{
    public const string Resources = """
<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>CausalKv — Resources</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#1b1b1f}
table{border-collapse:collapse}td,th{padding:.35rem .8rem;border-bottom:1px solid #ddd;text-align:left}
.Running{color:#0a7d32}.Exited,.FailedToStart{color:#b3261e}.Starting,.Stopping{color:#8a6d00}
button{margin-right:.3rem}
</style></head>
<body><h1>CausalKv resources</h1>
<table id="resources"><thead><tr><th>Name</th><th>State</th><th>Health</th><th>Endpoint</th><th>PID</th><th>Restarts</th><th>Exit code</th><th>Actions</th></tr></thead><tbody></tbody></table>
<script>
async function refresh(){
  const rows=await (await fetch('/api/resources')).json();
  document.querySelector('#resources tbody').innerHTML=rows.map(r=>`<tr data-name="${r.name}">
   <td>${r.name}</td><td class="${r.state}">${r.state}</td><td>${r.health}</td>
   <td><a href="${r.endpoint}">${r.endpoint}</a></td><td>${r.pid??''}</td><td>${r.restartCount}</td><td>${r.exitCode??''}</td>
   <td>${['stop','start','restart','kill'].map(c=>`<button onclick="cmd('${r.name}','${c}')">${c}</button>`).join('')}</td></tr>`).join('');
}
async function cmd(n,c){await fetch(`/api/resources/${n}/${c}`,{method:'POST'});refresh();}
refresh();setInterval(refresh,1000);
</script></body></html>
""";
}
