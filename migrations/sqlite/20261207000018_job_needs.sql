-- Workers take only jobs they can serve (issue 32): what a job needs of its worker, beside
-- its language column: the actor's model provider and the critic's (NULL without a critic),
-- set at intake, so a claim filters on small columns. Jobs stored before are read once here.
ALTER TABLE jobs ADD COLUMN actor_provider TEXT NOT NULL DEFAULT 'openai';
ALTER TABLE jobs ADD COLUMN critic_provider TEXT;
UPDATE jobs SET actor_provider = COALESCE(json_extract(spec, '$.actor.provider'), 'openai'),
                critic_provider = json_extract(spec, '$.critic.provider');
