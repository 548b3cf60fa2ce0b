<?php
// Applies the SQL files in migrations/ (migrations-mysql/ on MySQL or MariaDB) that the
// database has not seen, in name order, each in a transaction, recording them in
// schema_migrations; `--down-to NAME` reverts, newest first, every applied migration after NAME
// with its `-- down:` section (running it twice is harmless).
require __DIR__ . '/../lib/database.php';
[$db, $folder] = open_database();
$db->exec('CREATE TABLE IF NOT EXISTS schema_migrations (name VARCHAR(255) PRIMARY KEY)');
$applied = $db->query('SELECT name FROM schema_migrations ORDER BY name')->fetchAll(PDO::FETCH_COLUMN);
$files = glob(__DIR__ . "/../$folder/*.sql");

// MySQL commits a schema change on its own, so a migration's transaction may be over already.
function finish(PDO $db): void {
    if ($db->inTransaction()) {
        $db->commit();
    }
}
sort($files);

function sections(string $file): array {
    $parts = explode("-- down:", file_get_contents($file), 2);
    return [trim($parts[0]), trim($parts[1] ?? '')];
}

$down = array_search('--down-to', $argv, true);
if ($down !== false) {
    $keep = $argv[$down + 1] ?? '';
    if (!in_array($keep, $applied, true)) {
        fwrite(STDERR, "--down-to needs an applied migration to keep, one of: " . implode(', ', $applied) . "\n");
        exit(1);
    }
    foreach (array_reverse($applied) as $name) {
        if (strcmp($name, $keep) <= 0) {
            break;
        }
        [, $undo] = sections(__DIR__ . "/../$folder/$name");
        if ($undo === '') {
            fwrite(STDERR, "migration $name has no `-- down:` section; restore a backup instead\n");
            exit(1);
        }
        $db->beginTransaction();
        $db->exec($undo);
        $db->prepare('DELETE FROM schema_migrations WHERE name = ?')->execute([$name]);
        finish($db);
        echo "reverted $name\n";
    }
    exit(0);
}

foreach ($files as $file) {
    $name = basename($file);
    if (in_array($name, $applied, true)) {
        continue;
    }
    [$up] = sections($file);
    $db->beginTransaction();
    $db->exec($up);
    $db->prepare('INSERT INTO schema_migrations (name) VALUES (?)')->execute([$name]);
    finish($db);
    echo "applied $name\n";
}
