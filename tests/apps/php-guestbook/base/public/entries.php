<?php
// Version 1's entries: a message each.
function sign(PDO $db, string $message): array {
    $db->prepare('INSERT INTO entries (message) VALUES (?)')->execute([$message]);
    return ['id' => (int) $db->lastInsertId(), 'message' => $message];
}

function read(PDO $db): array {
    return $db->query('SELECT id, message FROM entries ORDER BY id')->fetchAll(PDO::FETCH_ASSOC);
}
