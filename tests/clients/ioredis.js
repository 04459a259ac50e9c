// ioredis against hoard: multi(), pipeline(), mget, hashes, counters.
const Redis = require(process.env.IOREDIS_PATH || "ioredis");
const assert = require("assert");

async function main() {
  const port = Number(process.argv[2]);
  const r = new Redis({ host: "127.0.0.1", port, lazyConnect: true, maxRetriesPerRequest: 1 });
  await r.connect();
  const results = await r.multi().set("a", "1").incr("a").get("a").exec();
  assert.deepStrictEqual(results, [[null, "OK"], [null, 2], [null, "2"]]);
  await r.mset({ b: "x", c: "y" });
  assert.deepStrictEqual(await r.mget("a", "b", "c", "nope"), ["2", "x", "y", null]);
  const piped = await r.pipeline().incrby("n", 5).decrby("n", 2).exec();
  assert.deepStrictEqual(piped, [[null, 5], [null, 3]]);
  await r.hset("h", { f1: "1", f2: "2" });
  assert.deepStrictEqual(await r.hgetall("h"), { f1: "1", f2: "2" });
  const failed = await r.multi().set("k", "v").incr("h").exec();
  assert.strictEqual(failed[0][1], "OK");
  assert.match(String(failed[1][0]), /WRONGTYPE/);
  await r.quit();
  console.log("ok");
}

main().catch((e) => { console.error(e); process.exit(1); });
